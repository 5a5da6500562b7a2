"""Processing flow (处理图片): the worker runs engines on paid tasks; failures go to a human."""
