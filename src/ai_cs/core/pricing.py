"""Prices as data: what a picture job costs (报价), in integer fen.

A quote is the operation's base price for the picture's complexity, plus extras the picture
needs (perspective correction, a large picture, a rush job), plus the **text rule**
(文字加价, "60-80 元高价值订单"):

* A picture counts as "with text" when the OCR found at least
  :attr:`PriceTable.text_min_chars` characters. Retouching text (matching fonts, rebuilding
  characters behind objects) is the shop's most labour-intensive work, so such an order is a
  high-value order whose **total** lies in the band
  ``[text_band_min_fen, text_band_max_fen]`` (default 6000-8000 fen = 60-80 元).
* Where in the band follows from the amount of text. Two measures are each mapped linearly onto
  ``0..1`` and the larger one wins:

  - characters: ``text_chars_low`` (or fewer) → 0, ``text_chars_high`` (or more) → 1;
  - share of the picture covered by text boxes: ``text_area_low`` → 0, ``text_area_high`` → 1.

  The target is ``band_min + amount × (band_max - band_min)``, rounded to whole yuan.
* The total is then ``clamp(max(target, subtotal), band_min, band_max)`` where ``subtotal`` is base
  plus extras: the surcharge line item ``text_surcharge`` (文字加价) lifts the order to the target,
  and a subtotal that already lies in the band is kept. A subtotal above the band is capped by a
  negative ``text_cap`` line (文字订单封顶), because the shop advertises the band as the price of a
  text order.

Everything here is pure: the standard library and pydantic only, no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ai_cs.core.money import yuan_fixed
from ai_cs.core.operations import OPERATIONS
from ai_cs.core.tasks import Operation, parse_operation


class Complexity(StrEnum):
    """How much work the picture is (复杂度), as measured by the analysis."""

    SIMPLE = "simple"
    NORMAL = "normal"
    COMPLEX = "complex"


def _default_base() -> dict[Operation, dict[Complexity, int]]:
    # The shop's list prices in fen, one row per operation (core/operations.py).
    return {
        op: dict(zip(Complexity, spec.prices_fen, strict=True)) for op, spec in OPERATIONS.items()
    }


OPERATION_LABELS: Final[dict[Operation, str]] = {
    op: spec.customer_label for op, spec in OPERATIONS.items()
}
"""The job's name as the buyer reads it (from the operations registry)."""

COMPLEXITY_LABELS: Final[dict[Complexity, str]] = {
    Complexity.SIMPLE: "简单",
    Complexity.NORMAL: "普通",
    Complexity.COMPLEX: "复杂",
}


class PriceTable(BaseModel):
    """Every price and threshold of a quote; the defaults are the shop's list prices."""

    model_config = ConfigDict(frozen=True)

    base_fen: dict[Operation, dict[Complexity, int]] = Field(default_factory=_default_base)
    perspective_fen: int = Field(500, ge=0, description="透视校正 extra.")
    large_size_fen: int = Field(500, ge=0, description="大图 extra for large pictures.")
    large_megapixels: float = Field(8.0, gt=0, description="From this size on a picture is large.")
    rush_fen: int = Field(1000, ge=0, description="加急 extra.")

    text_min_chars: int = Field(2, ge=1, description="Fewer OCR characters: no text order.")
    text_band_min_fen: int = Field(6000, ge=0)
    text_band_max_fen: int = Field(8000, ge=0)
    text_chars_low: int = Field(10, ge=0, description="At or below: bottom of the band.")
    text_chars_high: int = Field(120, ge=1, description="At or above: top of the band.")
    text_area_low: float = Field(0.05, ge=0.0, le=1.0)
    text_area_high: float = Field(0.45, ge=0.0, le=1.0)
    round_to_fen: int = Field(100, ge=1, description="Text targets are whole yuan.")

    @field_validator("base_fen", mode="before")
    @classmethod
    def _over_list_prices(cls, value: object) -> object:
        # A shop that sets only some prices (AICS_PRICES) keeps the list price for the rest.
        if not isinstance(value, dict):
            return value
        merged: dict[str, dict[str, object]] = {
            op.value: {level.value: fen for level, fen in levels.items()}
            for op, levels in _default_base().items()
        }
        for op, levels in value.items():
            key = str(getattr(op, "value", op))
            if isinstance(levels, dict) and key in merged:
                merged[key].update({str(getattr(k, "value", k)): v for k, v in levels.items()})
            else:
                merged[key] = levels
        return merged

    @model_validator(mode="after")
    def _complete(self) -> PriceTable:
        # A table with a hole would price some job at nothing; refuse it when it is built.
        for op in Operation:
            for level in Complexity:
                if self.base_fen.get(op, {}).get(level) is None:
                    raise ValueError(f"price table has no base price for {op.value}/{level.value}")
                if self.base_fen[op][level] < 0:
                    raise ValueError(f"negative base price for {op.value}/{level.value}")
        if self.text_band_min_fen > self.text_band_max_fen:
            raise ValueError("text_band_min_fen must not exceed text_band_max_fen")
        return self


class QuoteFeatures(BaseModel):
    """What the quote needs to know about the picture and the order."""

    complexity: Complexity = Complexity.NORMAL
    text_chars: int = Field(0, ge=0, description="Characters the OCR read.")
    text_area_ratio: float = Field(0.0, ge=0.0, le=1.0, description="Share covered by text.")
    perspective: bool = False
    megapixels: float = Field(0.0, ge=0.0)
    rush: bool = False


class QuoteItem(BaseModel):
    """One line of a quote."""

    code: str
    label: str
    amount_fen: int


class Surcharge(BaseModel):
    """Why and how the text rule changed the price (文字加价)."""

    applied: bool
    reason: str = ""
    amount_fen: int = 0
    text_chars: int = 0
    text_area_ratio: float = 0.0
    band_min_fen: int = 0
    band_max_fen: int = 0


class Quote(BaseModel):
    """The price of one job: line items that add up to ``total_fen``."""

    operation: Operation
    complexity: Complexity
    items: list[QuoteItem]
    total_fen: int
    surcharge: Surcharge

    @property
    def total_yuan(self) -> str:
        """The total as a display string in yuan, e.g. ``"65.00"``."""
        return yuan_fixed(self.total_fen)


def _ramp(value: float, low: float, high: float) -> float:
    """``value`` mapped linearly onto ``0..1`` between ``low`` and ``high``."""
    if high <= low:
        return 1.0 if value >= high else 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def text_amount(features: QuoteFeatures, table: PriceTable) -> float:
    """How much text the picture carries, ``0..1`` (the larger of characters and area)."""
    by_chars = _ramp(features.text_chars, table.text_chars_low, table.text_chars_high)
    by_area = _ramp(features.text_area_ratio, table.text_area_low, table.text_area_high)
    return max(by_chars, by_area)


def text_target_fen(features: QuoteFeatures, table: PriceTable) -> int:
    """The text-order price inside the band for this much text, in whole yuan."""
    span = table.text_band_max_fen - table.text_band_min_fen
    raw = table.text_band_min_fen + text_amount(features, table) * span
    step = table.round_to_fen
    rounded = int(round(raw / step)) * step
    return min(table.text_band_max_fen, max(table.text_band_min_fen, rounded))


def has_text(features: QuoteFeatures, table: PriceTable) -> bool:
    """Whether the text rule applies to this picture."""
    return features.text_chars >= table.text_min_chars


def quote(
    operation: Operation | str, features: QuoteFeatures, table: PriceTable | None = None
) -> Quote:
    """The price of ``operation`` on a picture with ``features`` (see the module docstring)."""
    table = table if table is not None else PriceTable()
    op = parse_operation(operation)
    base = table.base_fen[op][features.complexity]

    items = [
        QuoteItem(
            code="base",
            label=f"{OPERATION_LABELS[op]}（{COMPLEXITY_LABELS[features.complexity]}）",
            amount_fen=base,
        )
    ]
    if features.perspective:
        items.append(
            QuoteItem(code="perspective", label="透视校正", amount_fen=table.perspective_fen)
        )
    if features.megapixels >= table.large_megapixels:
        items.append(
            QuoteItem(code="large_size", label="大图处理", amount_fen=table.large_size_fen)
        )
    if features.rush:
        items.append(QuoteItem(code="rush", label="加急", amount_fen=table.rush_fen))

    subtotal = sum(item.amount_fen for item in items)
    surcharge = Surcharge(applied=False)
    if has_text(features, table):
        target = text_target_fen(features, table)
        total = min(table.text_band_max_fen, max(target, subtotal))
        delta = total - subtotal
        if delta > 0:
            items.append(QuoteItem(code="text_surcharge", label="文字加价", amount_fen=delta))
        elif delta < 0:
            items.append(QuoteItem(code="text_cap", label="文字订单封顶", amount_fen=delta))
        surcharge = Surcharge(
            applied=True,
            reason=(
                f"图片含文字（{features.text_chars} 字，占画面 "
                f"{features.text_area_ratio:.0%}），按高价值订单"
                f" {table.text_band_min_fen // 100}-{table.text_band_max_fen // 100} 元计价"
            ),
            amount_fen=delta,
            text_chars=features.text_chars,
            text_area_ratio=features.text_area_ratio,
            band_min_fen=table.text_band_min_fen,
            band_max_fen=table.text_band_max_fen,
        )

    return Quote(
        operation=op,
        complexity=features.complexity,
        items=items,
        total_fen=sum(item.amount_fen for item in items),
        surcharge=surcharge,
    )
