"""Pictures: safe intake, analysis (OCR, complexity, perspective) and the per-picture report.

Submodules are imported on use (``from ai_cs.imaging.report import analyze_source``) so that
importing the package does not load OpenCV, Pillow or the OCR models.
"""
