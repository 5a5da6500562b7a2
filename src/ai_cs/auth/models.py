"""The ``api_keys`` table. Only a hash of each key's secret is stored."""

from __future__ import annotations

from sqlalchemy.orm import Mapped

from ai_cs.db.models import Base, IndexedText, TextKey


class ApiKey(Base):
    """One bearer key: ``aics_<key_id>_<secret>``; the secret is kept only as SHA-256."""

    __tablename__ = "api_keys"

    key_id: Mapped[TextKey]
    name: Mapped[str]
    scope: Mapped[str]
    secret_hash: Mapped[str]
    acc_ids: Mapped[str | None]  # JSON list, partner keys only
    created_at: Mapped[str]
    expires_at: Mapped[str | None]
    revoked_at: Mapped[str | None]
    last_used_at: Mapped[str | None]


class ConsoleSession(Base):
    """One staff console login: the cookie holds a random id, the table only its SHA-256.

    Deleting the row (logout, the key revoked) ends the login on the server, whatever the
    browser still sends.
    """

    __tablename__ = "console_sessions"

    session_hash: Mapped[TextKey]
    key_id: Mapped[IndexedText]
    created_at: Mapped[str]
    expires_at: Mapped[float]  # epoch seconds
