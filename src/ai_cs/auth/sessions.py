"""Server-side staff console sessions (``console_sessions``).

The console cookie holds a random session id, never the API key: the key is typed once at login,
checked, and only its id is remembered with the session. The table keeps SHA-256 of the session
id (a copy of the database cannot be replayed as cookies), the key id and an expiry. A session
ends when it expires, on logout (the row is deleted, so a copied cookie stops working at once),
and whenever its key is revoked or expires. A session id is not a bearer key: the JSON API reads
only ``Authorization: Bearer`` and would refuse it anyway (wrong shape).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ai_cs.auth.models import ConsoleSession
from ai_cs.auth.service import Principal, check_key_id
from ai_cs.clock import Clock, iso
from ai_cs.errors import AuthError

SESSION_SECONDS: Final = 12 * 3600
"""How long a console login lasts."""
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, clock: Clock, key_id: str, *, seconds: float = SESSION_SECONDS
) -> str:
    """Store a new session for ``key_id`` and return its id (the cookie value)."""
    now = clock.epoch()
    # Expired rows are swept at each login, so the table holds live sessions only.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            session_hash=_hash(token),
            key_id=key_id,
            created_at=iso(clock.now()),
            expires_at=now + seconds,
        )
    )
    session.flush()
    return token


def session_principal(session: Session, clock: Clock, token: str | None) -> Principal:
    """The staff member behind a session id, or :class:`AuthError` (unknown, expired, revoked)."""
    if not token or not _TOKEN_SHAPE.fullmatch(token):
        raise AuthError("no console session")
    row = session.get(ConsoleSession, _hash(token))
    if row is None or row.expires_at <= clock.epoch():
        raise AuthError("the console session has ended")
    return check_key_id(session, clock, row.key_id)


def end_session(session: Session, token: str | None) -> None:
    """Forget a session on the server (logout); unknown ids are ignored."""
    if token and _TOKEN_SHAPE.fullmatch(token):
        session.execute(delete(ConsoleSession).where(ConsoleSession.session_hash == _hash(token)))
