"""``aics process PATH --operation OP --out DIR``: run one processing engine on one picture.

Writes the deliverable into DIR (PNG with alpha for ``remove_bg``, SVG for ``vectorize``, a layered
PSD for ``remove_bg_and_layer``, JPEG/PNG for ``enhance``, ``id_photo`` and ``resize_compress``;
the format asked with ``--require format=…``, a ZIP when several are asked), then prints its path
and the quality report. ``--require KEY=VALUE`` gives the order's requirements
(CONTRACT §1); the quality check verifies the result against them. Exit codes: 0 written; 2 refused
(unknown operation or preset, unreadable picture, engine failure or failed quality check — nothing
is written) with one line on standard error and no traceback; 1 when the result cannot be written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ai_cs.errors import AicsError

if TYPE_CHECKING:
    from ai_cs.engines import EngineResult

EXIT_REFUSED = 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _refuse(code: str, message: str) -> typer.Exit:
    typer.echo(f"refused [{code}]: {_one_line(message)}", err=True)
    return typer.Exit(EXIT_REFUSED)


def _print_report(path: Path, result: EngineResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(str(path), highlight=False, soft_wrap=True)
    table = Table(
        title=f"{result.operation.value} · {result.engine} · {result.width}×{result.height} · "
        f"{result.elapsed_ms:.0f} ms"
    )
    for column in ("check", "value", "threshold", "passed"):
        table.add_column(column)
    for check in result.quality.checks:
        threshold = (
            f"{check.threshold[0]:g}–{check.threshold[1]:g}"
            if isinstance(check.threshold, tuple)
            else f"{check.comparison} {check.threshold:,.10g}"
        )
        table.add_row(check.name, f"{check.value:.4g}", threshold, "yes" if check.passed else "NO")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``process`` command."""

    @app.command("process")
    def process_cmd(
        path: Annotated[Path, typer.Argument(help="The picture to process.")],
        operation: Annotated[
            str,
            typer.Option(
                "--operation",
                "-o",
                help="enhance | remove_bg | vectorize | remove_bg_and_layer | id_photo | "
                "resize_compress",
            ),
        ],
        out: Annotated[Path, typer.Option("--out", help="Directory the result is written to.")],
        preset: Annotated[
            str | None,
            typer.Option(
                "--preset", help="Vectorize preset: logo | poster | photo (default: auto)."
            ),
        ] = None,
        model: Annotated[
            Path | None,
            typer.Option(
                "--model",
                help="ONNX segmentation model (U²-Net/BiRefNet) for remove_bg; default GrabCut.",
            ),
        ] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", help="Time limit in seconds for the vectorizer.")
        ] = 120.0,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print one JSON object instead of a table.")
        ] = False,
        require: Annotated[
            list[str] | None,
            typer.Option(
                "--require",
                "-r",
                help="What the result must be, as the order stores it (repeatable): "
                "background=white|transparent|blue|red|#rrggbb, size=WxH, max_kb=N, min_kb=N, "
                "format=png|jpg|svg|pdf|eps|psd (several: format=svg,pdf → one ZIP), "
                "fit=crop|pad|stretch, print=5寸|A4|10x15cm (paper size), dpi=N, quality=N (JPEG).",
            ),
        ] = None,
    ) -> None:
        """Run one engine on one picture and write the checked result into --out."""
        from ai_cs.core.requirements import Requirements
        from ai_cs.core.tasks import parse_operation
        from ai_cs.engines import EngineOptions, run_engine
        from ai_cs.engines.vectorize import PRESETS

        try:
            op = parse_operation(operation)
        except AicsError as exc:
            raise _refuse(exc.code, exc.message) from None
        if preset is not None and preset.strip().lower() not in PRESETS:
            raise _refuse(
                "unknown_preset", f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}"
            )
        try:
            requirements = Requirements.parse_pairs(require or [])
        except AicsError as exc:
            raise _refuse(exc.code, exc.message) from None
        if not path.is_file():
            raise _refuse("image_unreadable", f"{str(path)!r} is not a file")
        settings_like: object
        if model is not None:
            settings_like = {"segmentation_model_path": str(model)}
        else:
            from ai_cs.config import get_settings

            settings_like = get_settings()
        options = EngineOptions(preset=preset, timeout_s=timeout, requirements=requirements)
        try:
            result = run_engine(op, path, options, settings_like=settings_like)
        except AicsError as exc:
            raise _refuse(exc.code, exc.message) from None

        target = out / f"{path.stem}_{op.value}{result.extension}"
        try:
            out.mkdir(parents=True, exist_ok=True)
            target.write_bytes(result.data)
        except OSError as exc:
            typer.echo(f"error: cannot write {str(target)!r}: {_one_line(str(exc))}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps({"path": str(target), **result.summary()}, ensure_ascii=False))
        else:
            _print_report(target, result)
