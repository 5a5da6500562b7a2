"""The shop's picture library and the find-image workflow (查找图片)."""
