"""AICS_ANALYSIS_THREADS reaches the OCR's onnxruntime sessions (one analysis per core)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import numpy as np
from ai_cs.imaging.analysis import analyze_image
from ai_cs.imaging.ocr import default_ocr
from PIL import Image
analyze_image(Image.new("RGB", (96, 96), (255, 255, 255)))  # the default engine, as a worker
print(default_ocr()._load().text_det.session.session.get_session_options().intra_op_num_threads)
"""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_the_setting_sets_onnxruntime_threads_of_the_default_engine(threads: str) -> None:
    env = {**os.environ, "AICS_ANALYSIS_THREADS": threads, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == threads
