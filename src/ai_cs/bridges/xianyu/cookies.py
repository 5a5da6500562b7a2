"""The seller's goofish.com cookie string: parsed once, kept in browser order, merged on renew.

A logged-in browser session is the only login the bridge knows (no password, no captcha). The
string is copied from the browser's developer tools (the IM page's request headers are the most
complete: HttpOnly cookies are missing from ``document.cookie``). Order matters: a browser can
hold two ``_m_h5_tk`` cookies (two paths or domains) and sends the most specific first, so the
**first** one is the signing token, as the browser would use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from ai_cs.errors import InvalidArgument

REQUIRED: Final = ("unb", "_m_h5_tk")
"""``unb`` is the seller's user id; ``_m_h5_tk`` signs every mtop call."""
MAX_COOKIE_CHARS: Final = 32_000
_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,200}$")
_DELETED = re.compile(r"(?:^|;)\s*max-age\s*=\s*(?:0|-\d+)\s*(?:;|$)", re.IGNORECASE)


def _ascii(value: str) -> str:
    return value if value.isascii() else quote(value, safe="".join(map(chr, range(33, 127))))


class CookieError(InvalidArgument):
    """The pasted cookie cannot log in (empty, malformed, or a required cookie is missing)."""

    code = "bad_cookie"


@dataclass
class CookieJar:
    """The cookies of one account, in the order the browser sent them."""

    pairs: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> CookieJar:
        """Read ``name=value; name=value`` (a ``Cookie:`` prefix and line breaks are allowed).

        Raises :class:`CookieError` for an empty or oversized string, or one without ``unb`` or
        ``_m_h5_tk`` (the message names what is missing, never a value).
        """
        if not isinstance(text, str) or not text.strip():
            raise CookieError("the cookie is empty: paste the Cookie header of goofish.com")
        if len(text) > MAX_COOKIE_CHARS:
            raise CookieError(f"the cookie is {len(text)} characters long; that is no cookie")
        body = text.strip()
        if body.lower().startswith("cookie:"):
            body = body[len("cookie:") :]
        pairs: list[tuple[str, str]] = []
        for part in re.split(r"[;\r\n]+", body):
            name, sep, value = part.strip().partition("=")
            name = name.strip()
            if not sep or not _NAME.match(name):
                continue
            pairs.append((name, value.strip()))
        jar = cls(pairs)
        missing = [n for n in REQUIRED if not jar.get(n)]
        if missing:
            raise CookieError(
                f"the cookie has no {' or '.join(missing)}: copy it from a logged-in "
                "goofish.com page (the 消息 page), including HttpOnly cookies"
            )
        return jar

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (the one the browser sends first), or ``None``."""
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    @property
    def user_id(self) -> str:
        """The seller's user id (cookie ``unb``): the account id of every event."""
        return self.get("unb") or ""

    @property
    def sign_token(self) -> str:
        """The mtop signing token: the part of the first ``_m_h5_tk`` before its ``_``."""
        return (self.get("_m_h5_tk") or "").split("_", 1)[0]

    def header(self) -> str:
        """The ``Cookie`` request header (non-ASCII characters percent-encoded, as browsers do)."""
        return "; ".join(f"{name}={_ascii(value)}" for name, value in self.pairs)

    def merge(self, set_cookie_headers: Iterable[str]) -> bool:
        """Apply ``Set-Cookie`` headers of a response; True when anything changed.

        A new value replaces every copy of that name (the server's word is now the only one);
        a cookie the server deletes (``Max-Age=0``) is dropped. Unknown names are appended.
        """
        changed = False
        for header in set_cookie_headers:
            first, _, attributes = header.partition(";")
            name, sep, value = first.strip().partition("=")
            name = name.strip()
            if not sep or not _NAME.match(name):
                continue
            value = value.strip()
            deleted = bool(_DELETED.search(";" + attributes)) or value in ("", '""')
            before = list(self.pairs)
            kept = [(n, v) for n, v in self.pairs if n != name]
            if deleted:
                self.pairs = kept
            else:
                position = next((i for i, (n, _) in enumerate(self.pairs) if n == name), None)
                if position is None:
                    kept.append((name, value))
                else:
                    kept.insert(min(position, len(kept)), (name, value))
                self.pairs = kept
            changed = changed or self.pairs != before
        return changed

    def names(self) -> list[str]:
        """Cookie names (for diagnostics: never log the values)."""
        return [name for name, _ in self.pairs]
