"""Dispatch settings that :class:`ai_cs.config.Settings` does not (yet) carry, and URL helpers.

Read from the same ``AICS_`` environment variables and ``.env`` file:

* ``AICS_DISPATCH_API_KEY`` — bearer key (scope ``staff`` or ``admin``) ai-cs uses to post jobs
  to the dispatch service and fetch designers' results. Empty: ai-cs creates a staff key in its
  own database once and keeps it in ``DATA_DIR/dispatch_client.key`` (mode 0600); that works for
  the built-in dispatch service, which shares the database.
* ``AICS_DISPATCH_CALLBACK_SECRET`` — HMAC secret of the finish callbacks. Empty: a secret is
  generated once and kept in ``DATA_DIR/dispatch_callback.secret`` (mode 0600), which both
  services read when they share the data directory.
* ``AICS_API_URL`` — base URL the dispatch service calls back; empty means
  ``http://HOST:API_PORT``.

When the main ``Settings`` gains a field of the same name it takes precedence.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ai_cs.config import Settings

CALLBACK_SECRET_FILE = "dispatch_callback.secret"
CLIENT_KEY_FILE = "dispatch_client.key"


class DispatchSettings(BaseSettings):
    """The dispatch-only settings (see the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix="AICS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    dispatch_api_key: str = Field("", description="Bearer key ai-cs uses towards dispatch.")
    dispatch_callback_secret: str = Field("", description="HMAC secret of finish callbacks.")
    api_url: str = Field("", description="Base URL of the API on 6060 for callbacks.")


def setting(settings: Settings, name: str) -> str:
    """``settings.<name>`` when the main settings have it, else the dispatch-only value."""
    value = getattr(settings, name, None)
    if isinstance(value, str) and value:
        return value
    extra = DispatchSettings()
    return str(getattr(extra, name))


def connect_host(host: str) -> str:
    """The host to connect to for a server bound to ``host`` (a wildcard means loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def dispatch_base_url(settings: Settings) -> str:
    """Where the dispatch service answers: ``AICS_DISPATCH_URL`` or the built-in one."""
    if settings.dispatch_url:
        return settings.dispatch_url.rstrip("/")
    return f"http://{connect_host(settings.host)}:{settings.dispatch_port}"


def api_base_url(settings: Settings) -> str:
    """Where the API on 6060 answers (the callback target)."""
    configured = setting(settings, "api_url")
    if configured:
        return configured.rstrip("/")
    return f"http://{connect_host(settings.host)}:{settings.api_port}"


def read_secret_file(path: Path) -> str | None:
    """The stripped content of a secret file, or ``None`` when it does not exist or is empty."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def write_secret_file(path: Path, value: str, *, replace: bool = False) -> bool:
    """Write a secret with mode 0600, atomically; ``False`` when it exists and not ``replace``.

    The file is written beside the target and then linked (or renamed) into place, so a reader
    never sees half a secret and two processes creating it at once agree on one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-secret-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def callback_secret(settings: Settings) -> bytes:
    """The HMAC secret of finish callbacks (``AICS_DISPATCH_CALLBACK_SECRET`` or the data file).

    Without a configured secret one is generated on first use and stored in
    ``DATA_DIR/dispatch_callback.secret`` (mode 0600); later calls and other processes sharing
    the data directory read the same one.
    """
    configured = setting(settings, "dispatch_callback_secret")
    if configured:
        return configured.encode("utf-8")
    path = settings.data_dir / CALLBACK_SECRET_FILE
    existing = read_secret_file(path)
    if existing is None:
        write_secret_file(path, secrets.token_urlsafe(32))
        existing = read_secret_file(path)
    if existing is None:  # pragma: no cover - the file was just written
        raise RuntimeError(f"cannot read the callback secret at {path}")
    return existing.encode("utf-8")
