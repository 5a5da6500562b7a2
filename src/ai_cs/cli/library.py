"""``aics library add DIR`` and ``aics library search``: the shop's picture library (查找图片)."""

from __future__ import annotations

from pathlib import Path

import typer

from ai_cs.cli.common import console, existing_database_url, fail, fail_domain, print_json
from ai_cs.errors import AicsError


def register(app: typer.Typer) -> None:
    """Add the ``library`` command group."""
    library_app = typer.Typer(help="The shop's picture library (查找图片).", no_args_is_help=True)

    @library_app.command("add")
    def add_cmd(
        directory: Path = typer.Argument(..., help="Folder of pictures (searched recursively)."),
        tag: list[str] = typer.Option([], "--tag", help="Extra tag for every picture."),
        account: str | None = typer.Option(None, "--account", help="Only for this shop account."),
        no_ocr: bool = typer.Option(False, "--no-ocr", help="Do not read text in the pictures."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """Index every picture below DIR by perceptual hash, OCR text and tags."""
        from ai_cs.library.service import add_directory
        from ai_cs.workflow import Workflow

        ocr = None
        if not no_ocr:
            from ai_cs.imaging.ocr import default_ocr

            ocr = default_ocr()
        workflow = Workflow()
        try:
            report = add_directory(
                workflow.db, workflow.clock, directory, ocr=ocr, extra_tags=tag, acc_id=account
            )
        except AicsError as exc:
            fail_domain(exc)
        finally:
            workflow.close()
        summary = {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "failed": [{"path": p, "reason": r} for p, r in report.failed],
        }
        if as_json:
            print_json(summary)
        else:
            console.print(
                f"added {report.added}, updated {report.updated}, "
                f"unchanged {report.unchanged}, failed {len(report.failed)}"
            )
            for path, reason in report.failed:
                console.print(f"  [yellow]skipped[/yellow] {path}: {reason}", highlight=False)

    @library_app.command("search")
    def search_cmd(
        words: str = typer.Argument("", help="Words: name, tags or text in the picture."),
        image: Path | None = typer.Option(None, "--image", help="Search with this picture."),
        limit: int = typer.Option(10, min=1, max=100),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    ) -> None:
        """Find library pictures by words or by a picture (resized or recompressed copies too)."""
        from rich.table import Table

        from ai_cs.library import service
        from ai_cs.workflow import Workflow

        if image is None and not words.strip():
            fail("give words to search for or --image PATH")
        workflow = Workflow(database_url=existing_database_url())
        try:
            with workflow.db.read() as session:
                if image is not None:
                    try:
                        data = image.read_bytes()
                    except OSError as exc:
                        fail(f"cannot read {str(image)!r}: {exc.strerror}")
                    matches = service.search_by_picture(
                        session, service.decode_picture(data), limit=limit
                    )
                else:
                    matches = service.search_by_words(session, words, limit=limit)
        except AicsError as exc:
            fail_domain(exc)
        finally:
            workflow.close()
        if as_json:
            print_json({"data": [m.model_dump() for m in matches], "count": len(matches)})
            return
        table = Table(title=f"library matches ({len(matches)})")
        for col in ("id", "name", "resolution", "distance/score", "path"):
            table.add_column(col)
        for m in matches:
            closeness = str(m.distance) if m.distance is not None else f"{m.score:.2f}"
            table.add_row(str(m.image_id), m.file_name, m.resolution, closeness, m.path)
        console.print(table)
        if not matches:
            raise typer.Exit(1)

    app.add_typer(library_app, name="library")
