"""Engine plumbing: picture loading, the registry and the result types."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ai_cs.core.tasks import Operation
from ai_cs.engines import (
    Engine,
    ImageUnreadable,
    QualityCheck,
    QualityReport,
    get_engine,
    load_image,
    segmentation_model_path,
)
from ai_cs.engines.base import MAX_INPUT_PIXELS, to_pil
from ai_cs.errors import InvalidArgument, UnknownOperation


def _encoded(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def test_modes_are_normalized_to_rgb_or_rgba() -> None:
    assert load_image(_encoded(Image.new("L", (8, 8), 100))).mode == "RGB"
    assert load_image(_encoded(Image.new("RGBA", (8, 8), (1, 2, 3, 4)))).mode == "RGBA"
    palette = Image.new("P", (8, 8), 0)
    palette.info["transparency"] = 0
    assert load_image(_encoded(palette, transparency=0)).mode == "RGBA"
    assert load_image(_encoded(Image.new("CMYK", (8, 8)), "JPEG")).mode == "RGB"
    sixteen = Image.fromarray(np.full((8, 8), 40000, np.uint16))
    assert np.asarray(load_image(_encoded(sixteen))).max() == round(40000 / 257)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    data = _encoded(Image.new("RGB", (40, 20)), "JPEG", exif=exif.tobytes())
    assert load_image(data).size == (20, 40)


def test_paths_and_arrays_are_accepted(tmp_path) -> None:
    path = tmp_path / "p.png"
    Image.new("RGB", (5, 4), (9, 9, 9)).save(path)
    assert load_image(path).size == (5, 4)
    assert load_image(str(path)).size == (5, 4)
    assert to_pil(np.zeros((4, 5), np.uint8)).mode == "RGB"
    assert to_pil(np.zeros((4, 5, 4), np.uint8)).mode == "RGBA"
    with pytest.raises(InvalidArgument):
        to_pil(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(InvalidArgument):
        to_pil(np.zeros((4, 5, 2), np.uint8))


@pytest.mark.parametrize(
    "data",
    [b"", b"definitely not a picture", _encoded(Image.new("RGB", (64, 64)))[:60]],
)
def test_unreadable_data_is_a_domain_error(data: bytes) -> None:
    with pytest.raises(ImageUnreadable) as caught:
        load_image(data)
    assert caught.value.code == "image_unreadable"


def test_missing_file_is_unreadable(tmp_path) -> None:
    with pytest.raises(ImageUnreadable):
        load_image(tmp_path / "absent.png")


def test_huge_picture_is_refused_before_decoding() -> None:
    side = int(MAX_INPUT_PIXELS**0.5) + 100
    # A PNG header claiming a huge size: refused from the header, never allocated.
    header = Image.new("1", (side, side))
    with pytest.raises(ImageUnreadable, match="MP"):
        load_image(_encoded(header))


def test_registry_gives_one_engine_per_operation() -> None:
    for operation in Operation:
        engine = get_engine(operation)
        assert isinstance(engine, Engine)
        assert engine.operation is operation
    assert get_engine("remove_bg").name == "grabcut"
    with pytest.raises(UnknownOperation):
        get_engine("colorize")


def test_model_path_comes_from_settings_attribute_or_mapping(tmp_path) -> None:
    class SettingsLike:
        segmentation_model_path = str(tmp_path / "m.onnx")

    assert segmentation_model_path(SettingsLike()) == tmp_path / "m.onnx"
    assert segmentation_model_path({"remove_bg_model_path": "/x/y.onnx"}).name == "y.onnx"
    assert segmentation_model_path({"segmentation_model_path": ""}) is None
    assert segmentation_model_path(object()) is None
    assert segmentation_model_path(None) is None


def test_report_passes_only_when_every_check_passes() -> None:
    good = QualityCheck("a", 1.0, 2.0, "<=", True)
    bad = QualityCheck("b", 3.0, 2.0, "<=", False, "b is too big")
    assert QualityReport((good,)).passed
    report = QualityReport((good, bad))
    assert not report.passed
    assert report.reason == "b is too big"
    assert report.to_dict()["checks"][1] == {
        "name": "b",
        "value": 3.0,
        "threshold": 2.0,
        "comparison": "<=",
        "passed": False,
        "message": "b is too big",
    }
    assert QualityReport(()).passed
