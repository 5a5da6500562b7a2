"""What the shop sells (操作类型): one row per operation, read by every layer.

A row holds everything the rest of the system needs to know about a job: its labels for each
audience (the customer in chat, staff in the console, designers in dispatch), the engine that does
it (a dotted name, imported only when a job runs), the file kinds its result may have, the list
prices per picture complexity, and the phrases that name it in a buyer's message. Adding an
operation is adding a row here, an engine module, and a value to
:class:`~ai_cs.core.tasks.Operation` (see ``docs/architecture.md``: "Adding an operation"); a
unit test checks that every operation has a complete row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ai_cs.core.tasks import Operation


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation of the shop."""

    operation: Operation
    customer_label: str
    """How the shop names the job to a buyer (报价、订单)."""
    staff_label: str
    """How the console names it."""
    designer_label: str
    """How the dispatch service names it to a designer (with the file they must deliver)."""
    engine: str
    """``module:Class`` of the engine that does it; constructed with no arguments."""
    result_kinds: frozenset[str]
    """File kinds a result may have when the order names no format: ``png``, ``jpeg``, ``webp``,
    ``svg``, ``pdf``, ``eps``, ``psd`` (an order that names formats gets exactly those)."""
    prices_fen: tuple[int, int, int]
    """List prices for a simple, normal and complex picture."""
    phrases: tuple[str, ...]
    """Words and phrases in a buyer's message that ask for this job."""


OPERATIONS: Final[dict[Operation, OperationSpec]] = {
    spec.operation: spec
    for spec in (
        OperationSpec(
            Operation.ENHANCE,
            customer_label="画质增强",
            staff_label="画质增强",
            designer_label="高清修复",
            engine="ai_cs.engines.enhance:EnhanceEngine",
            result_kinds=frozenset({"png", "jpeg", "webp"}),
            prices_fen=(1000, 1500, 2500),
            phrases=("变清晰", "高清", "清晰", "修复", "增强", "模糊", "enhance", "upscale"),
        ),
        OperationSpec(
            Operation.REMOVE_BG,
            customer_label="抠图去背景",
            staff_label="去除背景",
            designer_label="抠图去背景",
            engine="ai_cs.engines.remove_bg:GrabCutEngine",
            result_kinds=frozenset({"png", "webp"}),
            prices_fen=(1500, 2500, 4000),
            phrases=("抠图", "去背景", "去掉背景", "透明底", "白底", "cut out", "remove bg"),
        ),
        OperationSpec(
            Operation.VECTORIZE,
            customer_label="转矢量图",
            staff_label="转矢量图",
            designer_label="转矢量图 (SVG/PDF/EPS)",
            engine="ai_cs.engines.vectorize:VectorizeEngine",
            result_kinds=frozenset({"svg", "pdf", "eps"}),
            prices_fen=(2000, 3500, 6000),
            phrases=("矢量", "svg", "描图", "vector"),
        ),
        OperationSpec(
            Operation.REMOVE_BG_AND_LAYER,
            customer_label="抠图并分层",
            staff_label="去背景并分层",
            designer_label="抠图并分层 (PSD)",
            engine="ai_cs.engines.layered:LayeredEngine",
            result_kinds=frozenset({"psd"}),
            prices_fen=(3000, 5000, 8000),
            phrases=("分层", "psd", "图层", "layers"),
        ),
        OperationSpec(
            Operation.ID_PHOTO,
            customer_label="证件照",
            staff_label="证件照",
            designer_label="证件照（换底色、标准尺寸）",
            engine="ai_cs.engines.id_photo:IdPhotoEngine",
            result_kinds=frozenset({"jpeg", "png"}),
            prices_fen=(1000, 1500, 2000),
            phrases=("证件照", "一寸", "二寸", "1寸", "2寸", "换底色", "蓝底", "红底", "id photo"),
        ),
        OperationSpec(
            Operation.RESIZE_COMPRESS,
            customer_label="改尺寸/压缩",
            staff_label="改尺寸/压缩",
            designer_label="改尺寸/压缩（像素与文件大小）",
            engine="ai_cs.engines.resize_compress:ResizeCompressEngine",
            result_kinds=frozenset({"jpeg", "png"}),
            prices_fen=(500, 800, 1000),
            phrases=("改尺寸", "压缩", "改大小", "kb", "像素", "resize", "compress"),
        ),
    )
}
"""Every operation the shop offers, in the order the price list shows them."""


def spec_of(operation: Operation | str) -> OperationSpec:
    """The row of ``operation``; ``ValueError`` for a value that is not an operation."""
    return OPERATIONS[Operation(operation)]


def _label(operation: Operation | str, of: Callable[[OperationSpec], str]) -> str:
    try:
        return of(spec_of(operation))
    except ValueError:
        return str(operation)


def customer_label(operation: Operation | str) -> str:
    """The job's name in the buyer's words; an unknown value is returned as it is."""
    return _label(operation, lambda spec: spec.customer_label)


def staff_label(operation: Operation | str) -> str:
    """The job's name in the console; an unknown value is returned as it is."""
    return _label(operation, lambda spec: spec.staff_label)


def designer_label(operation: Operation | str) -> str:
    """The job's name in the dispatch service; an unknown value is returned as it is."""
    return _label(operation, lambda spec: spec.designer_label)
