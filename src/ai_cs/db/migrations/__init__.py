"""Alembic migrations of the shop database and the column groups they share."""
