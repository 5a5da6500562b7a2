"""A task's quote and risk recomputed for another operation (the quote follows the operation).

The task's ``requirements`` JSON holds what the analysis measured (complexity, text, perspective,
size); pricing and risk are pure functions of those facts and the operation, so a new quote never
needs the picture again. Used whenever the operation of a quoted task changes (customer,
agent or staff).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_cs.core.pricing import Complexity, PriceTable, Quote, QuoteFeatures, quote
from ai_cs.core.risk import RiskAssessment, RiskInput, assess_risk
from ai_cs.core.tasks import Operation


def _number(value: Any, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def features_from_requirements(requirements: Mapping[str, Any] | None) -> QuoteFeatures:
    """The quote facts stored with a task (missing facts count as a normal, text-free picture)."""
    req = requirements or {}
    try:
        complexity = Complexity(str(req.get("complexity", Complexity.NORMAL.value)))
    except ValueError:
        complexity = Complexity.NORMAL
    width, height = _number(req.get("width")), _number(req.get("height"))
    text_found = bool(req.get("text_found"))
    return QuoteFeatures(
        complexity=complexity,
        text_chars=int(_number(req.get("text_chars"))) if text_found else 0,
        text_area_ratio=min(1.0, max(0.0, _number(req.get("text_area_ratio")))),
        perspective=req.get("perspective") == "yes",
        megapixels=round(width * height / 1e6, 3),
    )


def quote_json(price: Quote, *, operation_defaulted: bool = False) -> dict[str, Any]:
    """The ``quote`` column's JSON, the same shape ``aics analyze --json`` prints."""
    return {
        "operation": price.operation.value,
        "operation_defaulted": operation_defaulted,
        "complexity": price.complexity.value,
        "total_fen": price.total_fen,
        "items": [item.model_dump(mode="json") for item in price.items],
        "surcharge": price.surcharge.model_dump(mode="json"),
    }


def requote(
    requirements: Mapping[str, Any] | None,
    operation: Operation,
    table: PriceTable | None = None,
) -> Quote:
    """The price of ``operation`` for the picture a task's requirements describe."""
    return quote(operation, features_from_requirements(requirements), table)


def reassess(
    requirements: Mapping[str, Any] | None, operation: Operation, request_text: str = ""
) -> RiskAssessment:
    """The risk decision for doing ``operation`` on the task's picture."""
    req = requirements or {}
    text = req.get("text")
    return assess_risk(
        RiskInput(
            ocr_lines=[line for line in text.splitlines() if line] if isinstance(text, str) else [],
            red_seal=bool(req.get("red_seal")),
            width=int(_number(req.get("width"))),
            height=int(_number(req.get("height"))),
            operation=operation,
            request_text=request_text,
        )
    )
