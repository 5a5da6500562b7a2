"""ai-cs: AI customer service and order system of an online image-editing shop (修图店)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Workflow"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from ai_cs.workflow import Workflow


def __getattr__(name: str) -> Any:
    # Imported lazily so `import ai_cs.core` stays free of SQLAlchemy and image libraries.
    if name == "Workflow":
        from ai_cs.workflow import Workflow

        return Workflow
    raise AttributeError(name)
