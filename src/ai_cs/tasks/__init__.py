"""The image-task domain (图片任务): store, rules applied in SQL, and the seed's dict shape."""
