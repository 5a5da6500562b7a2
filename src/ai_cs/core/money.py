"""Money as people read it. Code and storage keep integer fen (1 元 = 100 分)."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """Fen as a customer reads yuan: ``2500`` → ``"25"``, ``2550`` → ``"25.50"``."""
    return yuan_fixed(fen).removesuffix(".00")


def yuan_fixed(fen: int) -> str:
    """Fen with two decimals, for tables and ledgers: ``2500`` → ``"25.00"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
