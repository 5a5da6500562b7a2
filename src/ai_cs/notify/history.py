"""Recent notices and how each channel took them, for the console's 通知 page."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ai_cs.notify.events import NotifyKind
from ai_cs.notify.messages import link_path, render
from ai_cs.notify.models import NotifyDelivery, NotifyEvent


def recent_notices(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The newest notices with their title, console link and per-channel delivery state."""
    events = list(
        session.execute(select(NotifyEvent).order_by(NotifyEvent.id.desc()).limit(limit)).scalars()
    )
    deliveries: dict[int, list[dict[str, Any]]] = {event.id: [] for event in events}
    if events:
        for row in session.execute(
            select(NotifyDelivery)
            .where(NotifyDelivery.event_id.in_(list(deliveries)))
            .order_by(NotifyDelivery.channel)
        ).scalars():
            deliveries[row.event_id].append(
                {
                    "channel": row.channel,
                    "status": row.status,
                    "attempts": row.attempts,
                    "last_error": row.last_error,
                    "sent_at": row.sent_at,
                }
            )
    out = []
    for event in events:
        try:
            payload = json.loads(event.payload)
            kind = NotifyKind(event.kind)
        except ValueError:
            continue
        notice = render(event.id, kind, payload, event.created_at, "")
        out.append(
            {
                "id": event.id,
                "kind": kind.value,
                "title": notice.title,
                "facts": notice.facts,
                "link": link_path(payload),
                "created_at": event.created_at,
                "fanned_out": bool(event.fanned_out),
                "deliveries": deliveries[event.id],
            }
        )
    return out
