"""Dependencies of the Tianwang API: the workflow, settings, and the callers' keys.

``StaffKey`` and ``ReaderKey`` authenticate the bearer key through
:func:`ai_cs.web.deps.require`: 401 without a valid key, 403 without the scope, 429 when the
key's rate-limit bucket (``app.state.rate_limiter``) is empty.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ai_cs.auth.service import Principal, Scope
from ai_cs.config import Settings
from ai_cs.web.deps import require
from ai_cs.workflow import Workflow


async def get_workflow(request: Request) -> Workflow:
    """The app's workflow façade (``async``: no thread hop for a lookup)."""
    workflow: Workflow = request.app.state.workflow
    return workflow


async def get_settings_of_app(request: Request) -> Settings:
    """The settings the app was created with (``async``: no thread hop for a lookup)."""
    settings: Settings = request.app.state.settings
    return settings


WorkflowDep = Annotated[Workflow, Depends(get_workflow)]
SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]

StaffKey = Annotated[Principal, Depends(require(Scope.STAFF))]
"""Shop staff (or admin): every action."""

ReaderKey = Annotated[Principal, Depends(require(Scope.STAFF, Scope.PARTNER))]
"""Staff or a partner system (limited to its own shop accounts)."""


def actor_name(principal: Principal) -> str:
    """How a caller appears in the staff-actions log: ``scope:key name``."""
    return f"{principal.scope.value}:{principal.name}"
