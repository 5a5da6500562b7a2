"""Processing engines (处理引擎): one per operation (enhance, remove_bg, vectorize, …).

Use :func:`run_engine` for "one picture in, one checked deliverable out"; it raises
:class:`~ai_cs.errors.QualityCheckFailed` when the result must not ship (the job then goes to a
human designer) and :class:`~ai_cs.errors.ProcessingFailed` when the engine itself fails.
:func:`get_engine` gives the engine object for callers that want the result even when it failed
its check (e.g. to attach it to the designer's job). Engine modules are imported lazily, so
importing this package (or :mod:`ai_cs.engines.svg_safety`) does not load OpenCV, vtracer,
resvg, psd-tools or onnxruntime.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from ai_cs.core.tasks import Operation, parse_operation
from ai_cs.engines.base import (
    Engine,
    EngineNotConfigured,
    EngineOptions,
    EngineResult,
    EngineTimeout,
    ImageInput,
    ImageSource,
    ImageUnreadable,
    QualityCheck,
    QualityReport,
    UnknownPreset,
    load_image,
)
from ai_cs.errors import AicsError, ProcessingFailed, QualityCheckFailed

__all__ = [
    "Engine",
    "EngineNotConfigured",
    "EngineOptions",
    "EngineResult",
    "EngineTimeout",
    "ImageInput",
    "ImageSource",
    "ImageUnreadable",
    "QualityCheck",
    "QualityReport",
    "UnknownPreset",
    "get_engine",
    "load_image",
    "run_engine",
    "segmentation_model_path",
]

MODEL_SETTING_NAMES = ("segmentation_model_path", "remove_bg_model_path", "segmentation_model")
"""Setting names (attribute or mapping key) that may hold the ONNX segmentation model's path."""


def segmentation_model_path(settings_like: object = None) -> Path | None:
    """The configured segmentation model file, or ``None`` for the built-in GrabCut engine.

    ``settings_like`` is a :class:`~ai_cs.config.Settings`-like object or a mapping; the first
    non-empty value among :data:`MODEL_SETTING_NAMES` is used.
    """
    if settings_like is None:
        return None
    for name in MODEL_SETTING_NAMES:
        if isinstance(settings_like, Mapping):
            value = settings_like.get(name)
        else:
            value = getattr(settings_like, name, None)
        if value:
            return Path(str(value)).expanduser()
    return None


def get_engine(operation: Operation | str, settings_like: object = None) -> Engine:
    """The engine for ``operation``.

    ``remove_bg`` and ``remove_bg_and_layer`` use the ONNX segmentation model when one is
    configured (see :func:`segmentation_model_path`), GrabCut otherwise. Raises
    :class:`~ai_cs.errors.UnknownOperation` for an operation the shop does not offer and
    :class:`EngineNotConfigured` when a configured model file does not exist.
    """
    op = parse_operation(operation)
    if op is Operation.ENHANCE:
        from ai_cs.engines.enhance import EnhanceEngine

        return EnhanceEngine()
    if op is Operation.VECTORIZE:
        from ai_cs.engines.vectorize import VectorizeEngine

        return VectorizeEngine()

    if op is Operation.RESIZE_COMPRESS:
        from ai_cs.engines.resize_compress import ResizeCompressEngine

        return ResizeCompressEngine()

    from ai_cs.engines.remove_bg import GrabCutEngine, OnnxSegmentationEngine

    model = segmentation_model_path(settings_like)
    segmenter = OnnxSegmentationEngine(model) if model else GrabCutEngine()
    if op is Operation.REMOVE_BG:
        return segmenter
    if op is Operation.ID_PHOTO:
        from ai_cs.engines.id_photo import IdPhotoEngine

        return IdPhotoEngine(segmenter)
    if op is Operation.REMOVE_BG_AND_LAYER:
        from ai_cs.engines.layered import LayeredEngine

        return LayeredEngine(segmenter)
    # Only reachable when an operation was added to the registry without an engine here.
    raise ProcessingFailed(f"no engine for operation {op.value!r}", operation=op.value)


def run_engine(
    operation: Operation | str,
    source: ImageSource,
    options: EngineOptions | None = None,
    *,
    settings_like: object = None,
) -> EngineResult:
    """Run the engine for ``operation`` on ``source`` and return a result that passed its checks.

    ``source`` is encoded image bytes, a file path, a Pillow image or a ``uint8`` array.
    Raises :class:`~ai_cs.errors.QualityCheckFailed` (``details["report"]`` holds the report,
    ``details["result"]`` the rejected result's summary) when the result must not ship,
    :class:`ImageUnreadable` for data that is not a picture, :class:`EngineTimeout` when a step
    ran out of time, and :class:`~ai_cs.errors.ProcessingFailed` for any other engine failure.
    """
    engine = get_engine(operation, settings_like)
    image = load_image(source)
    started = time.perf_counter()
    options = options or EngineOptions()
    try:
        result = engine.process(image, options)
        if not op_reads_requirements(engine.operation):
            from ai_cs.engines.output import conform

            result = conform(result, options.requirements)
    except AicsError:
        raise
    except (OSError, ValueError, RuntimeError, MemoryError, _cv2_error()) as exc:
        # Library failures (OpenCV's cv2.error, decoder and allocation errors) become a domain
        # error so the job is retried or handed to a designer; the cause stays chained for logs.
        raise ProcessingFailed(
            f"{engine.operation.value} engine {engine.name!r} failed: {exc}",
            operation=engine.operation.value,
            engine=engine.name,
        ) from exc
    elapsed = (time.perf_counter() - started) * 1000.0
    if not result.quality.passed:
        raise QualityCheckFailed(
            f"{engine.operation.value} result failed its quality check: {result.quality.reason}",
            operation=engine.operation.value,
            engine=result.engine,
            report=result.quality.to_dict(),
            result=result.summary(),
            elapsed_ms=round(elapsed, 1),
        )
    return result


def op_reads_requirements(operation: Operation) -> bool:
    """Whether the engine applies the order's requirements itself (else they are applied after).

    The cut-out and enhance engines make a plain raster; :func:`~ai_cs.engines.output.conform`
    brings it to the order's size, background, format and file. The others shape their result
    while they make it (an ID photo's frame, a vector's page, a PSD's layers).
    """
    return operation not in (Operation.REMOVE_BG, Operation.ENHANCE)


def _cv2_error() -> type[BaseException]:
    import cv2

    return cv2.error
