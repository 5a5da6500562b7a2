"""``aics bench [--quick] [--json]``: run the benchmarks, each against its own baseline."""

from __future__ import annotations

import importlib

import typer

from ai_cs.cli.common import console, print_json


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command."""

    @app.command("bench")
    def bench_cmd(
        quick: bool = typer.Option(False, "--quick", help="Fewer repetitions (CI smoke run)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
        only: list[str] = typer.Option(
            [], "--only", help="Run only benchmark modules whose name contains this."
        ),
        scale: bool = typer.Option(
            False, "--scale", help="Run the scale-out load and fault suite (bench/scale.py)."
        ),
    ) -> None:
        """Run the benchmarks and print value, baseline and ratio for each."""
        if scale:
            from ai_cs.bench.scale import main as scale_main

            raise typer.Exit(scale_main(["--quick"] if quick else []))
        from rich.table import Table

        from ai_cs.bench import BENCH_MODULES

        table = Table(title="benchmarks")
        for col in ("bench", "value", "unit", "baseline", "ratio"):
            table.add_column(col)
        for name in BENCH_MODULES:
            if only and not any(o in name for o in only):
                continue
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            for result in module.run(quick):
                if as_json:
                    print_json(result.to_json())
                else:
                    table.add_row(
                        result.bench,
                        f"{result.value:.4g}",
                        result.unit,
                        f"{result.baseline:.4g}",
                        f"{result.ratio:.3f}",
                    )
        if not as_json:
            console.print(table)
