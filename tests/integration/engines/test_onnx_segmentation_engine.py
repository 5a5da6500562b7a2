"""The ONNX segmentation engine, driven through onnxruntime by a tiny hand-built model."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_pictures import iou, product_photo
from tiny_onnx_model import write_model

from ai_cs.core.tasks import Operation
from ai_cs.engines import EngineNotConfigured, EngineOptions, get_engine, run_engine
from ai_cs.engines.layered import LayeredEngine
from ai_cs.engines.remove_bg import OnnxSegmentationEngine, alpha_of_png


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    return write_model(tmp_path / "tiny_saliency.onnx")


def test_configured_model_is_used_for_remove_bg(model_path: Path) -> None:
    image, truth = product_photo("plain", width=800, height=600)

    result = run_engine(
        "remove_bg", image, settings_like={"segmentation_model_path": str(model_path)}
    )

    assert result.engine == "onnx-segmentation"
    assert result.metadata["model_input"] == [320, 320]  # dynamic graph: the default size
    assert iou(alpha_of_png(result.data) >= 128, truth) >= 0.95


def test_fixed_size_model_gets_its_own_input_size(tmp_path: Path) -> None:
    engine = OnnxSegmentationEngine(write_model(tmp_path / "fixed.onnx", input_size=96))
    image, truth = product_photo("plain", width=640, height=480)

    result = engine.process(image, EngineOptions())

    assert result.metadata["model_input"] == [96, 96]
    assert iou(alpha_of_png(result.data) >= 128, truth) >= 0.9


def test_a_bad_saliency_map_fails_its_check(model_path: Path) -> None:
    # The toy model scores dark pixels as subject; the dark half of a gradient fools it, and the
    # mask checks must catch that rather than pass a wrong cut-out.
    image, truth = product_photo("gradient", width=800, height=600)

    result = OnnxSegmentationEngine(model_path).process(image, EngineOptions())

    assert not result.quality.passed or iou(alpha_of_png(result.data) >= 128, truth) >= 0.9


def test_layered_engine_uses_the_configured_model(model_path: Path) -> None:
    engine = get_engine(Operation.REMOVE_BG_AND_LAYER, {"segmentation_model_path": str(model_path)})
    assert isinstance(engine, LayeredEngine)
    assert engine.segmenter.name == "onnx-segmentation"


def test_missing_model_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(EngineNotConfigured):
        get_engine("remove_bg", {"segmentation_model_path": str(tmp_path / "absent.onnx")})


def test_corrupt_model_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    image, _ = product_photo("plain", width=320, height=240)

    with pytest.raises(EngineNotConfigured):
        OnnxSegmentationEngine(bad).process(image, EngineOptions())
