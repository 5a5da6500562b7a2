"""Flat product pictures are not text and not stamps (regressions found by chatting with the shop).

RapidOCR reads a plain shape as a lone "一" or "0" over the whole shape, and a solid red disc is
round and red like a seal: neither may add the text surcharge or send the order to review.
"""

from __future__ import annotations

import numpy as np
import pytest
from pictures import red_seal_picture
from PIL import Image, ImageDraw

from ai_cs.imaging.analysis import analyze_image, find_red_seal


def _product(shape: str, colour: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (600, 450), (240, 240, 235))
    draw = ImageDraw.Draw(img)
    box = (180, 100, 420, 350)
    if shape == "ellipse":
        draw.ellipse(box, fill=colour)
    else:
        draw.rounded_rectangle(box, radius=30, fill=colour)
    return img


# Each colour on both shapes: blue, red, near-black and near-white products.
@pytest.mark.parametrize("shape", ["rect", "ellipse"])
@pytest.mark.parametrize("colour", [(40, 60, 200), (200, 40, 40), (30, 30, 30), (250, 250, 250)])
def test_a_flat_product_has_no_text_and_no_seal(shape: str, colour: tuple[int, int, int]) -> None:
    analysis = analyze_image(_product(shape, colour))
    assert analysis.text.found is False, analysis.text.lines
    assert analysis.red_seal is False


def test_a_real_looking_stamp_is_still_found() -> None:
    assert find_red_seal(np.asarray(red_seal_picture().convert("RGB"))) is True
