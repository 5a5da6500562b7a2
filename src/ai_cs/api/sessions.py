"""Console logins: a server-side session behind a random cookie, and login CSRF protection.

- **The cookie is a session id, not the key.** Login checks the staff key once and stores a
  session (:mod:`ai_cs.auth.sessions`); the HttpOnly cookie holds only the random id. Logout
  deletes the session on the server, so a copied cookie stops working; revoking the key ends
  every session made with it. The JSON API never reads the cookie (bearer keys only).
- **Login cannot be forged from another site.** A browser says where a form post comes from:
  ``Sec-Fetch-Site`` (``same-origin`` or ``none`` for a typed URL) and ``Origin``. A login post
  whose ``Sec-Fetch-Site`` is ``cross-site``/``same-site`` or whose ``Origin`` is another host (or
  ``null``) is refused, so another site cannot plant its own login in a staff browser. Clients
  that send neither header (scripts, tests) are not browsers a forged form could drive. Forms
  after login carry a token derived from the session id (``console.csrf_token``).
- **Cookie flags.** ``HttpOnly``, ``SameSite=Lax`` (a link from the shop's IM into the console
  keeps the login; a cross-site POST does not carry it), ``Path=/console``, and ``Secure`` when
  ``AICS_PUBLIC_BASE_URL`` is https or the request arrived over https — directly, or through a
  reverse proxy uvicorn trusts (``X-Forwarded-Proto`` from ``FORWARDED_ALLOW_IPS``, 127.0.0.1 by
  default).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response

from ai_cs.auth.service import Principal
from ai_cs.auth.sessions import SESSION_SECONDS, end_session, session_principal, start_session
from ai_cs.clock import Clock
from ai_cs.config import Settings
from ai_cs.db.database import Database

COOKIE: Final = "aics_console"
COOKIE_PATH: Final = "/console"
ALLOWED_FETCH_SITES: Final = frozenset({"same-origin", "none"})


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = parts.port
    return host if port in (None, default) else f"{host}:{port}"


def _our_hosts(request: Request, settings: Settings) -> set[str]:
    """The host names (with a non-default port) the console is reached at."""
    hosts = {_netloc(f"{request.url.scheme}://{request.headers.get('host', '')}")}
    if settings.public_base_url:
        hosts.add(_netloc(settings.public_base_url))
    return {h for h in hosts if h}


def cross_site_reason(request: Request, settings: Settings) -> str | None:
    """Why this form post looks forged from another site, or ``None`` when it does not."""
    fetch_site = request.headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site and fetch_site not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("origin")
    if origin is not None:
        origin = origin.strip()
        # The scheme is not compared: behind a TLS proxy the browser's https origin reaches us
        # as http. The host (and any non-default port) must be ours.
        if origin.lower() == "null" or _netloc(origin) not in _our_hosts(request, settings):
            return f"Origin: {origin[:100]}"
    return None


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether the session cookie gets ``Secure`` (the console is served over https)."""
    return settings.public_base_url.lower().startswith("https://") or request.url.scheme == "https"


def open_session(db: Database, clock: Clock, principal: Principal) -> str:
    """A new server-side session for a checked staff key; returns the cookie value."""
    return db.run_write(lambda s: start_session(s, clock, principal.key_id))


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    """Put the session id in the console cookie (HttpOnly, SameSite=Lax, Secure over https)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )


def forget_cookie(response: Response, request: Request, settings: Settings) -> None:
    """Tell the browser to drop the console cookie."""
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )


def close_session(db: Database, request: Request) -> None:
    """End the request's session on the server (logout)."""
    token = request.cookies.get(COOKIE)
    db.run_write(lambda s: end_session(s, token))


def principal_of_session(db: Database, clock: Clock, token: str | None) -> Principal:
    """The staff member of a console cookie, or :class:`~ai_cs.errors.AuthError`."""
    with db.read() as session:
        return session_principal(session, clock, token)
