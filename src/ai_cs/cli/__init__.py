"""The ``aics`` command line (Typer + rich).

Each command group lives in its own module with a ``register(app)`` function; ``main`` wires
them together lazily so ``aics --help`` stays fast.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "ai_cs.cli.db",
    "ai_cs.cli.tasks",
    "ai_cs.cli.keys",
    "ai_cs.cli.analyze",
    "ai_cs.cli.process",
    "ai_cs.cli.worker",
    "ai_cs.cli.serve",
    "ai_cs.cli.bench",
    "ai_cs.cli.gateway",
    "ai_cs.cli.dispatch",
    "ai_cs.cli.demo",
    "ai_cs.cli.chat",
    "ai_cs.cli.library",
)


def build_app() -> typer.Typer:
    """The ``aics`` Typer application with every command group registered."""
    app = typer.Typer(
        name="aics",
        help="ai-cs: AI customer service and order system of an image-editing shop.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    build_app()()
