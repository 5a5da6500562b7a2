"""The database side of a running bridge: one object per process, called from worker threads.

Each method is one short transaction (the bridge is an edge, so it commits). Raw entries the
decoder could not read are kept as files under ``DATA_DIR/bridges/<platform>/unknown/`` (at
most :data:`MAX_UNKNOWN_FILES`), ready to become test fixtures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from ai_cs.bridges import accounts, consign
from ai_cs.bridges.accounts import AccountCipher, AccountSecrets, AccountView
from ai_cs.bridges.consign import DueConsign
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database

log = logging.getLogger(__name__)

MAX_UNKNOWN_FILES: Final = 200


class AccountStore:
    """Account state, secrets and send records of one platform's bridge."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, platform: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.platform = platform
        self.cipher = AccountCipher(settings)

    def accounts(self) -> list[AccountView]:
        """Every account of the platform."""
        with self.db.read() as session:
            return accounts.list_accounts(session, self.platform)

    def view(self, account_id: str) -> AccountView:
        """One account."""
        with self.db.read() as session:
            return accounts.get_account(session, self.platform, account_id)

    def secrets(self, account_id: str) -> AccountSecrets:
        """Cookie and cached token, decrypted."""
        with self.db.read() as session:
            return accounts.load_secrets(session, self.cipher, self.platform, account_id)

    def save_cookie(self, account_id: str, cookie: str, version: int) -> None:
        """Keep a cookie the platform renewed."""
        self.db.run_write(
            lambda s: accounts.save_renewed_cookie(
                s, self.clock, self.cipher, self.platform, account_id, cookie, version=version
            )
        )

    def save_token(self, account_id: str, token: str | None, expires: float | None) -> None:
        """Cache (or forget) the IM token."""
        self.db.run_write(
            lambda s: accounts.save_token(s, self.cipher, self.platform, account_id, token, expires)
        )

    def set_state(self, account_id: str, state: str, reason: str | None) -> None:
        """Move the account to ``state`` (an event row when it changed)."""
        self.db.run_write(
            lambda s: accounts.set_state(s, self.clock, self.platform, account_id, state, reason)
        )

    def announce_long_reconnects(self, after_seconds: float) -> list[str]:
        """Tell the shop about accounts reconnecting for longer than ``after_seconds``."""
        return self.db.run_write(
            lambda s: accounts.announce_long_reconnects(
                s, self.clock, self.platform, after_seconds=after_seconds
            )
        )

    def error(self, account_id: str, text: str) -> None:
        """Remember the account's last error."""
        try:
            self.db.run_write(
                lambda s: accounts.record_error(s, self.clock, self.platform, account_id, text)
            )
        except SQLAlchemyError:
            log.warning("bridge: could not record an error of %s", account_id, exc_info=True)

    def touch(self, account_id: str) -> None:
        """An event came in just now."""
        self.db.run_write(lambda s: accounts.touch_event(s, self.clock, self.platform, account_id))

    def sent_parts(self, command_id: str) -> dict[int, str]:
        """Parts of a send command already done."""
        with self.db.read() as session:
            return accounts.sent_parts(session, command_id)

    def record_part(
        self,
        account_id: str,
        conversation_id: str,
        command_id: str,
        part: int,
        message_id: str | None,
        rejected: str | None = None,
    ) -> None:
        """A part of a send is done (its message id), or refused for good."""
        self.db.run_write(
            lambda s: accounts.record_part(
                s,
                self.clock,
                command_id=command_id,
                part=part,
                platform=self.platform,
                account_id=account_id,
                conversation_id=conversation_id,
                message_id=message_id,
                rejected=rejected,
            )
        )

    def is_ours(self, account_id: str, message_id: str) -> bool:
        """Whether a bridge sent this message."""
        with self.db.read() as session:
            return accounts.is_our_message(session, self.platform, account_id, message_id)

    def due_consigns(self, account_id: str) -> list[DueConsign]:
        """确认发货 requests of the account waiting to be carried out."""
        with self.db.read() as session:
            return consign.due_consigns(session, self.platform, account_id)

    def settle_consign(self, consign_id: int, failed: str | None = None) -> None:
        """The platform's answer to a 确认发货 (``failed``: its reason)."""
        self.db.run_write(
            lambda s: consign.settle_consign(s, self.clock, consign_id, failed=failed)
        )

    def note_consign_wait(self, consign_id: int, reason: str) -> None:
        """Why a 确认发货 waits (the account needs a person first)."""
        self.db.run_write(lambda s: consign.note_consign_wait(s, self.clock, consign_id, reason))

    def keep_unknown(self, account_id: str, reason: str, raw: str, decoded: Any = None) -> None:
        """Keep an entry the decoder did not understand (a future fixture); never raises."""
        folder = self.settings.data_dir / "bridges" / self.platform / "unknown"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if sum(1 for _ in folder.iterdir()) >= MAX_UNKNOWN_FILES:
                return
            digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:16]
            path = folder / f"{int(time.time())}-{digest}.json"
            body = {"account_id": account_id, "reason": reason, "raw": raw, "decoded": decoded}
            path.write_text(json.dumps(body, ensure_ascii=False, default=str), encoding="utf-8")
        except OSError:
            log.warning("bridge: could not keep an unknown entry", exc_info=True)
