"""Seller accounts of the marketplace bridges: stored encrypted, with their connection state.

Services take a session and never commit (the CLI, the console route and the bridge commit).
Cookies and IM tokens are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key from
``AICS_ACCOUNT_KEY`` or, when that is empty, a key generated once into ``DATA_DIR/account.key``
(mode 0600) — so a copied database alone does not log anybody into the shop's account.

State changes are explicit ``(previous, current)`` pairs: every change is also a row in
``marketplace_account_events`` (with the reason), which the console shows. A change that needs a
person (``needs_verification``, ``logged_out``) records a notification (§11) in the same
transaction and stamps the event's ``notified_at``; an account still ``reconnecting`` after
``AICS_XIANYU_OFFLINE_NOTIFY_MINUTES`` is announced once per outage by
:func:`announce_long_reconnects`, which the running bridge calls every few seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.orm import Session

from ai_cs.bridges.models import (
    LOGGED_OUT,
    NEEDS_VERIFICATION,
    NEW,
    ONLINE,
    PAUSED,
    RECONNECTING,
    REJECTED,
    SENT,
    BridgeSend,
    MarketplaceAccount,
    MarketplaceAccountEvent,
)
from ai_cs.clock import Clock, iso
from ai_cs.config import Settings
from ai_cs.core.records import record
from ai_cs.db.database import dialect_insert
from ai_cs.dispatch.config import read_secret_file, write_secret_file
from ai_cs.errors import AicsError, InvalidArgument, NotFound
from ai_cs.notify import NotifyKind, emit

log = logging.getLogger(__name__)

KEY_FILE: Final = "account.key"
MAX_REASON_CHARS: Final = 500
STATE_LABELS: Final = {
    NEW: "未连接",
    ONLINE: "在线",
    RECONNECTING: "重连中",
    NEEDS_VERIFICATION: "需要验证",
    LOGGED_OUT: "已掉线",
    PAUSED: "已暂停",
}
"""How the console names each state (staff read Chinese)."""
NOTIFIED_STATES: Final = {
    NEEDS_VERIFICATION: NotifyKind.ACCOUNT_NEEDS_VERIFICATION,
    LOGGED_OUT: NotifyKind.ACCOUNT_LOGGED_OUT,
}
"""States that need a person at once: entering one tells the shop (§11)."""


class AccountKeyError(AicsError):
    """The stored cookies cannot be decrypted with the configured key."""

    code = "account_key_mismatch"
    http_status = 500


class AccountCipher:
    """Encrypts and decrypts account secrets with the installation's key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def _fernet(self) -> Fernet:
        configured = self.settings.account_key.strip()
        if configured:
            try:
                return Fernet(configured.encode("ascii"))
            except (ValueError, UnicodeEncodeError) as exc:
                raise InvalidArgument(
                    "AICS_ACCOUNT_KEY is not a Fernet key (32 url-safe base64 bytes)"
                ) from exc
        path = self.settings.data_dir / KEY_FILE
        key = read_secret_file(path)
        if key is None:
            write_secret_file(path, Fernet.generate_key().decode("ascii"))
            key = read_secret_file(path)
        if key is None:  # pragma: no cover - the file was just written
            raise AccountKeyError(f"cannot read the account key at {path}")
        return Fernet(key.encode("ascii"))

    def encrypt(self, value: str) -> str:
        """``value`` encrypted (a url-safe text token)."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain value; :class:`AccountKeyError` when the key is not the one it had."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise AccountKeyError(
                "a stored account secret cannot be decrypted: AICS_ACCOUNT_KEY or "
                "DATA_DIR/account.key changed since it was stored; add the account again"
            ) from exc


@dataclass(frozen=True)
class AccountView:
    """An account as staff and the bridge see it (no secrets)."""

    id: int
    platform: str
    account_id: str
    nick: str | None
    state: str
    state_reason: str | None
    state_since: str
    paused: bool
    cookie_version: int
    device_id: str
    last_event_at: str | None
    last_error: str | None
    last_error_at: str | None
    created_at: str

    @property
    def state_label(self) -> str:
        """The state in the staff's words."""
        return STATE_LABELS.get(self.state, self.state)


def _view(row: MarketplaceAccount) -> AccountView:
    return record(AccountView, row, paused=bool(row.paused))


def _key(platform: str, account_id: str) -> ColumnElement[bool]:
    """The account's row by its natural key (platform, account id)."""
    row = MarketplaceAccount
    return and_(row.platform == platform, row.account_id == account_id)


def _find(session: Session, platform: str, account_id: str) -> MarketplaceAccount | None:
    return session.execute(
        select(MarketplaceAccount).where(_key(platform, account_id))
    ).scalar_one_or_none()


def _update(
    session: Session, platform: str, account_id: str, *conditions: Any, **values: Any
) -> int:
    """Set ``values`` on the account's row (where ``conditions`` hold); the rows changed."""
    result = session.execute(
        update(MarketplaceAccount)
        .where(_key(platform, account_id), *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _row(session: Session, platform: str, account_id: str) -> MarketplaceAccount:
    row = _find(session, platform, account_id)
    if row is None:
        raise NotFound(f"no {platform} account {account_id!r}")
    return row


def upsert_account(
    session: Session,
    clock: Clock,
    cipher: AccountCipher,
    *,
    platform: str,
    account_id: str,
    cookie: str,
    nick: str | None,
    device_id: str,
) -> tuple[AccountView, bool]:
    """Add an account, or give a known one a fresh cookie; returns (account, created).

    A new cookie is a new login: the cached token is dropped, the cookie version goes up (the
    running bridge reconnects with it), and an account that waited for verification or a new
    login becomes ``new`` again. The device id of a known account is kept for good.
    """
    now = iso(clock.now())
    existing = _find(session, platform, account_id)
    if existing is None:
        row = MarketplaceAccount(
            platform=platform,
            account_id=account_id,
            nick=nick,
            cookie_encrypted=cipher.encrypt(cookie),
            cookie_version=1,
            device_id=device_id,
            token_encrypted=None,
            token_expires_epoch=None,
            state=NEW,
            state_reason="已添加，等待连接",
            state_since=now,
            paused=0,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        _record_event(session, clock, row, None, NEW, row.state_reason)
        return _view(row), True
    existing.cookie_encrypted = cipher.encrypt(cookie)
    existing.cookie_version = existing.cookie_version + 1
    existing.token_encrypted = None
    existing.token_expires_epoch = None
    existing.nick = nick or existing.nick
    existing.updated_at = now
    if existing.state in (NEEDS_VERIFICATION, LOGGED_OUT):
        set_state(session, clock, platform, account_id, NEW, "已更新 Cookie，等待重新连接")
    session.flush()
    return _view(existing), False


def list_accounts(session: Session, platform: str | None = None) -> list[AccountView]:
    """Every account (of one platform), oldest first."""
    stmt = select(MarketplaceAccount).order_by(MarketplaceAccount.id)
    if platform is not None:
        stmt = stmt.where(MarketplaceAccount.platform == platform)
    return [_view(r) for r in session.execute(stmt).scalars()]


def get_account(session: Session, platform: str, account_id: str) -> AccountView:
    """One account (NotFound when unknown)."""
    return _view(_row(session, platform, account_id))


@dataclass(frozen=True)
class AccountSecrets:
    """What a bridge needs to log in: the cookie and the cached IM token."""

    cookie: str
    cookie_version: int
    device_id: str
    token: str | None
    token_expires_epoch: float | None


def load_secrets(
    session: Session, cipher: AccountCipher, platform: str, account_id: str
) -> AccountSecrets:
    """The decrypted cookie and token of an account."""
    row = _row(session, platform, account_id)
    return AccountSecrets(
        cookie=cipher.decrypt(row.cookie_encrypted),
        cookie_version=row.cookie_version,
        device_id=row.device_id,
        token=cipher.decrypt(row.token_encrypted) if row.token_encrypted else None,
        token_expires_epoch=row.token_expires_epoch,
    )


def save_renewed_cookie(
    session: Session,
    clock: Clock,
    cipher: AccountCipher,
    platform: str,
    account_id: str,
    cookie: str,
    *,
    version: int,
) -> bool:
    """Store a cookie the platform renewed (Set-Cookie), unless staff pasted a newer one meanwhile.

    The version does not change: it counts logins given by people, not renewals.
    """
    changed = _update(
        session,
        platform,
        account_id,
        MarketplaceAccount.cookie_version == version,
        cookie_encrypted=cipher.encrypt(cookie),
        updated_at=iso(clock.now()),
    )
    return bool(changed)


def save_token(
    session: Session,
    cipher: AccountCipher,
    platform: str,
    account_id: str,
    token: str | None,
    expires_epoch: float | None,
) -> None:
    """Cache the IM token (``None`` forgets it: the next connection asks for a new one)."""
    _update(
        session,
        platform,
        account_id,
        token_encrypted=cipher.encrypt(token) if token else None,
        token_expires_epoch=expires_epoch if token else None,
    )


def _record_event(
    session: Session,
    clock: Clock,
    row: MarketplaceAccount,
    previous: str | None,
    state: str,
    reason: str | None,
) -> MarketplaceAccountEvent:
    event = MarketplaceAccountEvent(
        platform=row.platform,
        account_id=row.account_id,
        previous_state=previous,
        state=state,
        reason=reason,
        created_at=iso(clock.now()),
    )
    session.add(event)
    return event


def _announce(
    session: Session,
    clock: Clock,
    row: MarketplaceAccount,
    event: MarketplaceAccountEvent,
    kind: NotifyKind,
    reason: str | None,
) -> None:
    """Tell the shop about ``event`` (one notice per event row, however often this runs)."""
    session.flush()  # the event's id names the notice
    emit(
        session,
        clock,
        kind,
        key=f"account:{row.platform}:{row.account_id}:{event.id}",
        account_id=row.account_id,
        account_nick=row.nick,
        platform=row.platform,
        reason=reason,
    )
    event.notified_at = iso(clock.now())


def set_state(
    session: Session,
    clock: Clock,
    platform: str,
    account_id: str,
    state: str,
    reason: str | None,
) -> tuple[str, str] | None:
    """Move an account to ``state``; returns ``(previous, current)`` when it changed.

    The same state again only refreshes the reason (a reconnecting account that fails again
    is not a new event for staff).
    """
    row = _row(session, platform, account_id)
    reason = reason[:MAX_REASON_CHARS] if reason else None
    previous = row.state
    now = iso(clock.now())
    if previous == state:
        row.state_reason = reason
        row.updated_at = now
        return None
    row.state = state
    row.state_reason = reason
    row.state_since = now
    row.updated_at = now
    if state == ONLINE:
        row.last_error = None if previous != ONLINE else row.last_error
    event = _record_event(session, clock, row, previous, state, reason)
    kind = NOTIFIED_STATES.get(state)
    if kind is not None:
        _announce(session, clock, row, event, kind, reason)
    log.info("account %s/%s: %s → %s (%s)", platform, account_id, previous, state, reason)
    return previous, state


def announce_long_reconnects(
    session: Session, clock: Clock, platform: str, *, after_seconds: float
) -> list[str]:
    """Announce accounts ``reconnecting`` for longer than ``after_seconds``; returns their ids.

    One notice per outage: the event that started it (the latest, a ``reconnecting`` one) is
    stamped ``notified_at``, so later calls skip it until the account goes through another
    state and comes back to ``reconnecting``.
    """
    now = clock.now()
    announced: list[str] = []
    rows = session.execute(
        select(MarketplaceAccount).where(
            MarketplaceAccount.platform == platform, MarketplaceAccount.state == RECONNECTING
        )
    ).scalars()
    for row in rows:
        try:
            since = datetime.fromisoformat(row.state_since)
        except ValueError:
            continue
        waited = (now - since).total_seconds()
        if waited < after_seconds:
            continue
        event = session.execute(
            select(MarketplaceAccountEvent)
            .where(
                MarketplaceAccountEvent.platform == platform,
                MarketplaceAccountEvent.account_id == row.account_id,
            )
            .order_by(MarketplaceAccountEvent.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if event is None or event.state != RECONNECTING or event.notified_at:
            continue
        minutes = max(1, round(waited / 60))
        reason = f"已重连 {minutes} 分钟仍未连上（{row.state_reason or '原因未知'}）"
        _announce(session, clock, row, event, NotifyKind.ACCOUNT_OFFLINE, reason)
        announced.append(row.account_id)
    return announced


def record_error(
    session: Session, clock: Clock, platform: str, account_id: str, error: str
) -> None:
    """Remember the last error of an account (shown in the console)."""
    _update(
        session,
        platform,
        account_id,
        last_error=error[:MAX_REASON_CHARS],
        last_error_at=iso(clock.now()),
    )


def touch_event(session: Session, clock: Clock, platform: str, account_id: str) -> None:
    """An event arrived from the account just now."""
    _update(session, platform, account_id, last_event_at=iso(clock.now()))


def set_paused(
    session: Session, clock: Clock, platform: str, account_id: str, paused: bool
) -> AccountView:
    """Pause (the bridge disconnects and stays away) or resume an account."""
    row = _row(session, platform, account_id)
    row.paused = 1 if paused else 0
    row.updated_at = iso(clock.now())
    if paused:
        set_state(session, clock, platform, account_id, PAUSED, "店主暂停")
    elif row.state == PAUSED:
        set_state(session, clock, platform, account_id, NEW, "已恢复，等待连接")
    session.flush()
    return _view(row)


def remove_account(session: Session, platform: str, account_id: str) -> None:
    """Forget an account and its secrets (its conversations and tasks stay)."""
    _row(session, platform, account_id)
    session.execute(delete(MarketplaceAccount).where(_key(platform, account_id)))


def recent_events(
    session: Session, platform: str, account_id: str, *, limit: int = 20
) -> list[MarketplaceAccountEvent]:
    """The account's latest state changes, newest first."""
    return list(
        session.execute(
            select(MarketplaceAccountEvent)
            .where(
                MarketplaceAccountEvent.platform == platform,
                MarketplaceAccountEvent.account_id == account_id,
            )
            .order_by(MarketplaceAccountEvent.id.desc())
            .limit(limit)
        ).scalars()
    )


# --- sends ----------------------------------------------------------------------------------------
def sent_parts(session: Session, command_id: str) -> dict[int, str]:
    """Parts of a send command already done (part → status)."""
    rows = session.execute(
        select(BridgeSend.part, BridgeSend.status).where(BridgeSend.command_id == command_id)
    ).all()
    return {int(part): str(status) for part, status in rows}


def record_part(
    session: Session,
    clock: Clock,
    *,
    command_id: str,
    part: int,
    platform: str,
    account_id: str,
    conversation_id: str,
    message_id: str | None,
    rejected: str | None = None,
) -> None:
    """One part of a send went out (with the platform's message id) or was refused for good."""
    session.execute(
        dialect_insert(session, BridgeSend)
        .values(
            command_id=command_id,
            part=part,
            platform=platform,
            account_id=account_id,
            conversation_id=conversation_id,
            message_id=message_id,
            status=REJECTED if rejected else SENT,
            reason=rejected[:MAX_REASON_CHARS] if rejected else None,
            created_at=iso(clock.now()),
        )
        .on_conflict_do_nothing(index_elements=["command_id", "part"])
    )


def is_our_message(session: Session, platform: str, account_id: str, message_id: str) -> bool:
    """Whether a bridge sent this message (its echo is not a person on the shop's side)."""
    found = session.execute(
        select(BridgeSend.id)
        .where(
            BridgeSend.platform == platform,
            BridgeSend.account_id == account_id,
            BridgeSend.message_id == message_id,
        )
        .limit(1)
    ).scalar_one_or_none()
    return found is not None
