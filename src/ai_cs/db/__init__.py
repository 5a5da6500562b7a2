"""Database access: engines, sessions, models and migrations."""

from ai_cs.db.database import Database

__all__ = ["Database"]
