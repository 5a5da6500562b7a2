"""``aics analyze PATH_OR_URL``: intake, analysis, risk and quote for one picture.

Exit codes: 0 analysed, 2 refused (the picture, its URL or the operation), with one line on
standard error saying why and no traceback.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from ai_cs.core.money import yuan_fixed
from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.imaging.report import PictureReport

EXIT_REFUSED = 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _print_human(report: PictureReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    a, q, r = report.analysis, report.quote, report.risk
    table = Table(title=f"图片分析 {report.image.source}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("尺寸", f"{a.width} × {a.height}（{a.megapixels} MP，{a.resolution}）")
    table.add_row("比例", f"{a.aspect_ratio}（{a.aspect_ratio_value}）")
    m = a.complexity_metrics
    table.add_row(
        "复杂度",
        f"{a.complexity.value}（score {m.score}: edges {m.edge_density}, colours {m.colours}, "
        f"entropy {m.entropy}, detail {m.detail}）",
    )
    table.add_row("透视", a.perspective + (f" {a.perspective_quad}" if a.perspective_quad else ""))
    table.add_row("清晰度", f"{a.sharpness}" + ("（模糊）" if a.blurry else ""))
    table.add_row("红色印章", "是" if a.red_seal else "否")
    text = "\n".join(f"{line.text}  ({line.score:.2f})" for line in a.text.lines) or "—"
    table.add_row(
        "文字",
        f"{'有' if a.text.found else '无'}，{a.text.char_count} 字，面积 {a.text.area_ratio:.1%}",
    )
    table.add_row("识别内容", text)
    decision_style = {"accept": "green", "review": "yellow", "decline": "red"}[r.decision.value]
    reasons = "\n".join(f"[{x.code}] {x.message}" for x in r.reasons) or "—"
    table.add_row("风险", f"[{decision_style}]{r.decision.value}[/]")
    table.add_row("原因", reasons)
    items = "\n".join(f"{i.label}: {yuan_fixed(i.amount_fen)} 元" for i in q.items)
    table.add_row("操作", q.operation.value + ("（默认）" if report.operation_defaulted else ""))
    table.add_row("报价明细", items)
    table.add_row("合计", f"[bold]{q.total_yuan} 元[/]（{q.total_fen} 分）")
    table.add_row("存储", f"{report.image.path}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the ``aics`` application."""

    @app.command("analyze")
    def analyze(
        source: Annotated[str, typer.Argument(metavar="PATH_OR_URL", help="Picture file or URL.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        operation: Annotated[
            str | None,
            typer.Option("--operation", "-o", help="enhance, remove_bg, vectorize, ..."),
        ] = None,
        request: Annotated[
            str, typer.Option("--request", help="What the customer asked for, in their words.")
        ] = "",
    ) -> None:
        """Intake, analysis, risk and quote for one picture."""
        # Heavy imports (OpenCV, Pillow, OCR) only when the command runs: `aics --help` stays fast.
        from ai_cs.config import get_settings
        from ai_cs.imaging.report import analyze_source

        try:
            report = analyze_source(
                source, get_settings(), operation=operation, request_text=request
            )
        except AicsError as exc:
            typer.echo(f"refused [{exc.code}]: {_one_line(exc.message)}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
        except OSError as exc:  # e.g. the data directory is not writable
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            _print_human(report)
