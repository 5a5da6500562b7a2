"""HMAC signatures of finish callbacks (dispatch 8005 → API 6060) and of the shop's webhooks.

The same scheme signs the generic notification webhook (:mod:`ai_cs.notify.channels`), so a
receiver that checks dispatch callbacks checks notifications with the same code; it lives in
the core (pure, no I/O) so both the dispatch domain and the low ``notify`` layer can use it.

The sender signs ``f"{timestamp}.".encode() + raw_body`` with HMAC-SHA256 and sends
``X-Tuhui-Timestamp: <unix seconds>`` and ``X-Tuhui-Signature: sha256=<hex>``. The receiver checks
the headers' shape, compares the signature over the *raw* body in constant time, and only then
looks at the timestamp (at most :data:`TOLERANCE_SECONDS` away from its clock, either way) and
parses the body. Binding the timestamp into the signature makes an old captured request useless
after the tolerance; within it, replays are caught by the receiver's table of seen event ids.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from ai_cs.errors import AuthError

TIMESTAMP_HEADER: Final = "X-Tuhui-Timestamp"
SIGNATURE_HEADER: Final = "X-Tuhui-Signature"
SCHEME: Final = "sha256="
TOLERANCE_SECONDS: Final = 300
"""Largest difference between the sender's timestamp and the receiver's clock, either way."""

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class InvalidSignature(AuthError, code="invalid_signature"):
    """The callback's signature is missing, malformed or wrong."""


class StaleTimestamp(AuthError, code="stale_timestamp"):
    """The callback's timestamp is outside the tolerance (a replay or a badly set clock)."""


def signature(secret: bytes, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}."`` followed by ``body``."""
    mac = hmac.new(secret, f"{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def sign_headers(secret: bytes, body: bytes, now_epoch: float) -> dict[str, str]:
    """The two headers that sign ``body`` at ``now_epoch``."""
    timestamp = int(now_epoch)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: SCHEME + signature(secret, timestamp, body),
    }


def verify(
    secret: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now_epoch: float,
    *,
    tolerance: float = TOLERANCE_SECONDS,
) -> int:
    """Check a callback's signature and timestamp; returns the timestamp.

    Raises :class:`InvalidSignature` when a header is missing or malformed or the signature does
    not match, :class:`StaleTimestamp` when the signed timestamp is too far from ``now_epoch``.
    """
    if not timestamp_header or not _TIMESTAMP.fullmatch(timestamp_header.strip()):
        raise InvalidSignature(f"missing or malformed {TIMESTAMP_HEADER} header")
    if not signature_header:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    timestamp = timestamp_header.strip()
    given = signature_header.strip()
    if not given.startswith(SCHEME) or not _HEX64.fullmatch(given[len(SCHEME) :]):
        raise InvalidSignature(f"{SIGNATURE_HEADER} must be 'sha256=' and 64 lowercase hex digits")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given[len(SCHEME) :].encode()):
        raise InvalidSignature("signature does not match the request body")
    signed_at = int(timestamp)
    if abs(now_epoch - signed_at) > tolerance:
        raise StaleTimestamp(
            f"callback signed at {signed_at}, {now_epoch - signed_at:+.0f}s from now; "
            f"at most {tolerance:.0f}s either way is accepted"
        )
    return signed_at
