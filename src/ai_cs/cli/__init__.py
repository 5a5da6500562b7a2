"""The ``aics`` command line (Typer + rich).

Each command group lives in its own module with a ``register(app)`` function; ``build_app``
imports them plainly (inside the function) and wires them together in the order ``--help``
lists them. Command modules import only Typer, rich and the standard library at module level
(everything else inside the command functions), so building the app for ``aics --help`` stays
fast; ``tests/unit/cli/test_startup.py`` checks which libraries a ``--help`` run loads.

Mistakes (a bad or unreachable database, invalid settings, a refused domain rule) end with one
``error: ...`` line and a hint on stderr and exit code 2, never a traceback; see :func:`main`.
"""

from __future__ import annotations

import typer

HELP = "ai-cs: AI customer service and order system of an image-editing shop."


def _version(value: bool) -> None:
    if value:
        from ai_cs import __version__

        typer.echo(f"aics {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The ``aics`` Typer application with every command group registered."""
    app = typer.Typer(
        name="aics",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False,
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ) -> None:
        """ai-cs: AI customer service and order system of an image-editing shop."""

    from ai_cs.cli import (
        accounts,
        analyze,
        bench,
        bridge,
        chat,
        db,
        demo,
        dispatch,
        gateway,
        keys,
        library,
        process,
        serve,
        tasks,
        worker,
    )

    groups = (db, tasks, keys, analyze, process, worker, serve, bench, gateway, dispatch, demo)
    for module in (*groups, chat, library, accounts, bridge):
        module.register(app)
    return app


def main() -> None:
    """Console-script entry point: run the app; known mistakes become one line and exit 2.

    Errors are caught here rather than in each command so the long-running commands
    (``serve``, ``worker``, ``gateway``, ``dispatch``), which wait a bounded time for the
    database, end the same way once they give up. Anything not recognised keeps its traceback.
    """
    from ai_cs.cli.common import EXIT_MISTAKE, explain, known_errors, print_error

    try:
        build_app()()
    except known_errors() as exc:
        line = explain(exc)
        if line is None:
            raise
        print_error(line)
        raise SystemExit(EXIT_MISTAKE) from None
    finally:
        _skip_collection_at_exit()


def _skip_collection_at_exit() -> None:
    """Keep what this run built out of the interpreter's garbage collection at shutdown.

    Shutting down, Python collects and frees every reference cycle, and the class graphs of
    SQLAlchemy, pydantic and Alembic are mostly cycles: that pass alone took 0.25-0.45 s of each
    short command on the project's machine, for memory the operating system frees anyway.
    ``atexit`` and ``weakref.finalize`` hooks (which close the database pools) still run.
    """
    import gc

    gc.freeze()
