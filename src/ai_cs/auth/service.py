"""Creating, checking and revoking API keys.

A key is ``aics_<key_id>_<secret>`` with 32 random bytes of secret. The database keeps the key id
and SHA-256 of the secret (a fast hash is right here: the secret is random, not a password), so a
dump of the database does not reveal any key. Checking compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ai_cs.auth.models import ApiKey
from ai_cs.clock import Clock, iso
from ai_cs.core.tasks import parse_member
from ai_cs.errors import AuthError, Forbidden, InvalidArgument, NotFound

PREFIX = "aics"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # don't write on every request
_KEY_SHAPE = re.compile(rf"{PREFIX}_[0-9a-f]{{1,32}}_[A-Za-z0-9_-]{{1,128}}")


class Scope(StrEnum):
    """What a key may do. ``admin`` may do everything."""

    ADMIN = "admin"
    STAFF = "staff"
    PARTNER = "partner"
    DESIGNER = "designer"
    METRICS = "metrics"
    """Reads ``GET /metrics`` (when ``AICS_METRICS=key``) and nothing else."""


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key."""

    key_id: str
    name: str
    scope: Scope
    acc_ids: tuple[str, ...] | None  # None = every shop account

    def allows(self, *scopes: Scope) -> bool:
        """True when this key's scope is one of ``scopes`` (admin always)."""
        return self.scope is Scope.ADMIN or self.scope in scopes

    def require(self, *scopes: Scope) -> None:
        """Raise :class:`Forbidden` unless :meth:`allows`."""
        if not self.allows(*scopes):
            raise Forbidden(
                f"key {self.name!r} has scope {self.scope.value!r}; "
                f"this needs one of {[s.value for s in scopes]}"
            )

    def sees_account(self, acc_id: str | None) -> bool:
        """Partner keys see only their own shop accounts."""
        return self.acc_ids is None or (acc_id is not None and acc_id in self.acc_ids)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    clock: Clock,
    *,
    name: str,
    scope: str,
    acc_ids: list[str] | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Store a new key and return it in full (the only time it is ever shown)."""
    parsed = parse_member(Scope, scope, InvalidArgument, "scope")
    if not name.strip():
        raise InvalidArgument("key name must not be empty")
    shops = [a.strip() for a in acc_ids or [] if a and a.strip()]
    if parsed is Scope.PARTNER and not shops:
        # A partner key without a shop would see every shop's tasks.
        raise InvalidArgument("a partner key must name its shop (--acc-id SHOP_ID)")
    if acc_ids is not None:
        acc_ids = shops
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            key_id=key_id,
            name=name.strip(),
            scope=parsed.value,
            secret_hash=_hash(secret),
            acc_ids=json.dumps(acc_ids) if acc_ids is not None else None,
            created_at=iso(clock.now()),
            expires_at=iso(expires_at) if expires_at else None,
        )
    )
    session.flush()
    return f"{PREFIX}_{key_id}_{secret}"


def check_key(session: Session, clock: Clock, token: str | None) -> tuple[Principal, bool]:
    """The principal behind a bearer token without writing anything, or :class:`AuthError`.

    The flag says ``last_used_at`` is due for an update (see :func:`touch_key`); reading and
    writing are separate so a request can check its key in a read transaction and open a write
    transaction only once a minute per key.
    """
    if not token:
        raise AuthError("missing bearer key")
    # Only the shape create_key produces reaches the database (no NUL bytes or junk in queries).
    if not _KEY_SHAPE.fullmatch(token.strip()):
        raise AuthError("malformed bearer key")
    _, key_id, secret = token.strip().split("_", 2)
    row = session.get(ApiKey, key_id)
    # Compare even when the key id is unknown so timing does not tell which ids exist.
    expected = row.secret_hash if row is not None else _hash("-")
    if not hmac.compare_digest(expected, _hash(secret)) or row is None:
        raise AuthError("invalid bearer key")
    return _live_principal(row, clock)


def _live_principal(row: ApiKey, clock: Clock) -> tuple[Principal, bool]:
    """The principal of a stored key that is neither revoked nor expired, and the stale flag."""
    now = clock.now()
    if row.revoked_at is not None:
        raise AuthError("this key was revoked")
    if row.expires_at is not None and datetime.fromisoformat(row.expires_at) <= now:
        raise AuthError("this key has expired")
    last = datetime.fromisoformat(row.last_used_at) if row.last_used_at else None
    stale = last is None or now - last >= LAST_USED_RESOLUTION
    acc = tuple(json.loads(row.acc_ids)) if row.acc_ids else None
    if acc is None and row.scope == Scope.PARTNER.value:
        acc = ()  # a partner key stored without a shop (before this rule) sees no shop at all
    principal = Principal(key_id=row.key_id, name=row.name, scope=Scope(row.scope), acc_ids=acc)
    return principal, stale


def check_key_id(session: Session, clock: Clock, key_id: str) -> Principal:
    """The principal of the key with this id (a console session's key), or :class:`AuthError`.

    The same rules as a bearer key: a key revoked or expired since the login ends the login.
    """
    row = session.get(ApiKey, key_id)
    if row is None:
        raise AuthError("the key of this login no longer exists")
    principal, _stale = _live_principal(row, clock)
    return principal


def touch_key(session: Session, clock: Clock, key_id: str) -> None:
    """Record that the key was used now (``last_used_at``)."""
    session.execute(
        update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=iso(clock.now()))
    )


def authenticate(session: Session, clock: Clock, token: str | None) -> Principal:
    """The principal behind a bearer token, or :class:`AuthError`; updates ``last_used_at``."""
    principal, stale = check_key(session, clock, token)
    if stale:
        touch_key(session, clock, principal.key_id)
    return principal


def revoke_key(session: Session, clock: Clock, key_id: str) -> None:
    """Revoke a key by id (prefix ``aics_<key_id>_`` of the key)."""
    done = session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=iso(clock.now()))
        .returning(ApiKey.key_id)
    ).one_or_none()
    if done is None:
        raise NotFound(f"no active key {key_id!r}")


def list_keys(session: Session) -> list[dict[str, str | None]]:
    """Every key without its secret."""
    rows = session.execute(select(ApiKey).order_by(ApiKey.created_at)).scalars()
    return [
        {
            "key_id": r.key_id,
            "name": r.name,
            "scope": r.scope,
            "acc_ids": r.acc_ids,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "revoked_at": r.revoked_at,
            "last_used_at": r.last_used_at,
        }
        for r in rows
    ]
