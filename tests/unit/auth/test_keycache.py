"""The key cache: accepted tokens for a bounded time, least recently used dropped first."""

from __future__ import annotations

from ai_cs.auth.keycache import KeyCache
from ai_cs.auth.service import Principal, Scope


def _principal(key_id: str) -> Principal:
    return Principal(key_id=key_id, name=key_id, scope=Scope.STAFF, acc_ids=None)


def test_an_entry_lives_for_its_ttl_only() -> None:
    now = [0.0]
    cache = KeyCache(2.0, monotonic=lambda: now[0])
    cache.put("aics_a_secret", _principal("a"))
    now[0] = 1.99
    assert cache.get("aics_a_secret") == _principal("a")
    assert cache.get(" aics_a_secret ") == _principal("a")
    assert cache.get("aics_a_other") is None
    now[0] = 2.0
    assert cache.get("aics_a_secret") is None
    assert cache.get(None) is None


def test_least_recently_used_is_dropped_and_forget_drops_a_key() -> None:
    cache = KeyCache(60.0, max_entries=2)
    cache.put("t1", _principal("a"))
    cache.put("t2", _principal("b"))
    assert cache.get("t1") is not None  # t2 is now the least recently used
    cache.put("t3", _principal("c"))
    assert cache.get("t2") is None
    assert cache.get("t1") is not None and cache.get("t3") is not None
    cache.forget("a")
    assert cache.get("t1") is None and cache.get("t3") is not None


def test_ttl_zero_keeps_nothing() -> None:
    cache = KeyCache(0.0)
    cache.put("t1", _principal("a"))
    assert cache.get("t1") is None
