"""One picture, start to finish: intake → analysis → risk → quote (``aics analyze``).

When the customer has not said what they want done, the quote is for
:data:`DEFAULT_OPERATION` (``enhance``, 画质增强): the cheapest job and the one almost every
picture can get, so the first price a customer sees is never inflated by a guess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from ai_cs.config import Settings, get_settings
from ai_cs.core.pricing import PriceTable, Quote, quote
from ai_cs.core.risk import RiskAssessment, assess_risk
from ai_cs.core.tasks import Operation, parse_operation
from ai_cs.imaging.analysis import Analysis, analyze_image
from ai_cs.imaging.intake import StoredImage, intake
from ai_cs.imaging.ocr import OcrEngine

DEFAULT_OPERATION: Final = Operation.ENHANCE


class CustomerHistory(BaseModel):
    """What the shop knows about the customer's past orders, for the risk rules."""

    refunds: int = 0
    declines: int = 0


class PictureReport(BaseModel):
    """Everything the shop needs to answer a customer who sent a picture."""

    image: StoredImage
    analysis: Analysis
    risk: RiskAssessment
    quote: Quote
    operation: Operation
    operation_defaulted: bool

    def to_json(self) -> dict[str, Any]:
        """The ``aics analyze --json`` object (CONTRACT §1) with extra detail."""
        a = self.analysis
        return {
            "source": self.image.source,
            "sha256": self.image.sha256,
            "stored_key": self.image.key,
            "stored_path": str(self.image.path),
            "format": self.image.format,
            "mime": self.image.mime,
            "source_format": self.image.source_format,
            "original_bytes": self.image.original_bytes,
            "width": a.width,
            "height": a.height,
            "megapixels": a.megapixels,
            "resolution": a.resolution,
            "aspect_ratio": a.aspect_ratio,
            "aspect_ratio_value": a.aspect_ratio_value,
            "complexity": a.complexity.value,
            "complexity_metrics": a.complexity_metrics.model_dump(),
            "perspective": a.perspective,
            "perspective_quad": [list(p) for p in a.perspective_quad]
            if a.perspective_quad
            else None,
            "sharpness": a.sharpness,
            "blurry": a.blurry,
            "red_seal": a.red_seal,
            "text": {
                "found": a.text.found,
                "lines": [line.model_dump(mode="json") for line in a.text.lines],
                "char_count": a.text.char_count,
                "area_ratio": a.text.area_ratio,
            },
            "risk": {
                "decision": self.risk.decision.value,
                "reasons": [r.model_dump(mode="json") for r in self.risk.reasons],
            },
            "quote": {
                "operation": self.quote.operation.value,
                "operation_defaulted": self.operation_defaulted,
                "complexity": self.quote.complexity.value,
                "total_fen": self.quote.total_fen,
                "items": [item.model_dump(mode="json") for item in self.quote.items],
                "surcharge": self.quote.surcharge.model_dump(mode="json"),
            },
            "requirements": a.to_requirements(),
        }


def analyze_source(
    source: str | bytes | Path,
    settings: Settings | None = None,
    *,
    operation: Operation | str | None = None,
    request_text: str = "",
    ocr: OcrEngine | None = None,
    history: CustomerHistory | None = None,
    rush: bool = False,
    price_table: PriceTable | None = None,
) -> PictureReport:
    """Take in ``source`` (bytes, path or URL), analyse it, assess the risk and quote a price.

    Raises an :class:`~ai_cs.errors.ImageRejected` subclass when the picture is refused and
    :class:`~ai_cs.errors.UnknownOperation` for an operation the shop does not offer.
    """
    settings = settings if settings is not None else get_settings()
    if operation is not None:
        parse_operation(operation)  # an unknown operation is refused before any work
    stored = intake(source, settings)
    analysis = analyze_image(
        stored.analysis_image(), ocr=ocr, full_size=(stored.width, stored.height)
    )
    return report_from_analysis(
        stored,
        analysis,
        settings,
        operation=operation,
        request_text=request_text,
        history=history,
        rush=rush,
        price_table=price_table,
    )


def report_from_analysis(
    stored: StoredImage,
    analysis: Analysis,
    settings: Settings,
    *,
    operation: Operation | str | None = None,
    request_text: str = "",
    history: CustomerHistory | None = None,
    rush: bool = False,
    price_table: PriceTable | None = None,
) -> PictureReport:
    """Risk and quote for a picture already taken in and analysed (the cheap part).

    The analysis may have run elsewhere (a picture job on a worker); what the customer asked for
    and their history are applied here, at the moment of the answer.
    """
    op = parse_operation(operation) if operation is not None else DEFAULT_OPERATION
    history = history if history is not None else CustomerHistory()
    risk = assess_risk(
        analysis.to_risk_input(
            operation=op,
            request_text=request_text,
            refunds=history.refunds,
            declines=history.declines,
        )
    )
    table = price_table if price_table is not None else settings.prices
    price = quote(op, analysis.to_quote_features(rush=rush), table)
    return PictureReport(
        image=stored,
        analysis=analysis,
        risk=risk,
        quote=price,
        operation=op,
        operation_defaulted=operation is None,
    )
