"""The callback signature: the right one passes; 10,000 forgeries of every kind do not."""

from __future__ import annotations

import random
import time

import pytest

from ai_cs.core.signing import (
    SCHEME,
    TOLERANCE_SECONDS,
    InvalidSignature,
    StaleTimestamp,
    sign_headers,
    signature,
    verify,
)

SECRET = b"s3cret-for-tests"
BODY = b'{"event_id":"e1","job_id":"JOB_1","task_id":"TASK_20260227_001"}'
NOW = 1_772_186_400.0  # 2026-02-27 18:00 Shanghai


def forgeries(rng: random.Random, n: int) -> list[tuple[str, str, bytes]]:
    """``n`` (timestamp, signature header, body) triples, none of them a valid signature."""
    stamp = str(int(NOW))
    good = signature(SECRET, stamp, BODY)
    out: list[tuple[str, str, bytes]] = []
    kinds = 8
    for i in range(n):
        kind = i % kinds
        if kind == 0:  # random hex
            out.append((stamp, SCHEME + "".join(rng.choices("0123456789abcdef", k=64)), BODY))
        elif kind == 1:  # one or two hex digits of the real signature changed
            forged = list(good)
            for pos in rng.sample(range(64), rng.randint(1, 2)):
                forged[pos] = rng.choice([d for d in "0123456789abcdef" if d != good[pos]])
            out.append((stamp, SCHEME + "".join(forged), BODY))
        elif kind == 2:  # the real signature over a body with one to three bits flipped
            body = bytearray(BODY)
            for _ in range(rng.randint(1, 3)):
                body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
            if bytes(body) == BODY:
                body[0] ^= 1
            out.append((stamp, SCHEME + good, bytes(body)))
        elif kind == 3:  # signed with another secret
            other = rng.randbytes(16)
            out.append((stamp, SCHEME + signature(other, stamp, BODY), BODY))
        elif kind == 4:  # the real signature moved to another timestamp
            moved = str(int(NOW) + rng.choice([-1, 1]) * rng.randint(1, 10**6))
            out.append((moved, SCHEME + good, BODY))
        elif kind == 5:  # wrong scheme, or the real one with random hex
            scheme = rng.choice(["sha1=", "SHA256=", "", "sha256:", SCHEME])
            out.append((stamp, scheme + rng.randbytes(32).hex(), BODY))
        elif kind == 6:  # truncated or padded
            cut = rng.randrange(0, 64)
            pad = rng.randbytes(rng.randint(1, 8)).hex()
            out.append((stamp, SCHEME + (good[:cut] if rng.random() < 0.5 else good + pad), BODY))
        else:  # the right signature of the body with random bytes appended
            body = BODY + rng.randbytes(rng.randint(1, 16))
            out.append((stamp, SCHEME + good, body))
    return out


def test_the_right_signature_passes() -> None:
    headers = sign_headers(SECRET, BODY, NOW)
    stamp, sig = headers["X-Tuhui-Timestamp"], headers["X-Tuhui-Signature"]
    assert verify(SECRET, stamp, sig, BODY, NOW) == int(NOW)
    assert verify(SECRET, stamp, sig, BODY, NOW + TOLERANCE_SECONDS) == int(NOW)
    assert verify(SECRET, stamp, sig, BODY, NOW - TOLERANCE_SECONDS) == int(NOW)


def test_ten_thousand_forged_signatures_are_refused() -> None:
    cases = forgeries(random.Random(20260227), 10_000)
    assert len(set(cases)) > 9_000  # mostly distinct forgeries, not a few repeated
    started = time.perf_counter()
    refused = 0
    for stamp, sig, body in cases:
        with pytest.raises(InvalidSignature):
            verify(SECRET, stamp, sig, body, NOW)
        refused += 1
    elapsed = time.perf_counter() - started
    assert refused == 10_000
    assert elapsed < 10, f"verifying took {elapsed:.1f}s"


@pytest.mark.parametrize(
    "offset", [TOLERANCE_SECONDS + 1, -(TOLERANCE_SECONDS + 1), 86_400, -86_400]
)
def test_a_timestamp_outside_the_tolerance_is_refused_either_way(offset: int) -> None:
    signed_at = NOW + offset
    headers = sign_headers(SECRET, BODY, signed_at)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers["X-Tuhui-Timestamp"], headers["X-Tuhui-Signature"], BODY, NOW)


@pytest.mark.parametrize(
    ("stamp", "sig"),
    [
        (None, "sha256=" + "0" * 64),
        ("", "sha256=" + "0" * 64),
        ("12ab", "sha256=" + "0" * 64),
        ("-1", "sha256=" + "0" * 64),
        ("1" * 13, "sha256=" + "0" * 64),
        (str(int(NOW)), None),
        (str(int(NOW)), ""),
    ],
)
def test_missing_or_malformed_headers_are_refused(stamp: str | None, sig: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, stamp, sig, BODY, NOW)
