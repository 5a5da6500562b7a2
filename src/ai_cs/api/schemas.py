"""Response shapes of the Tianwang API's own routes (each domain keeps its shapes with it)."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    """``GET /healthz``."""

    status: str
    database: str
