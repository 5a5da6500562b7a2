"""Procrastinate's own schema on PostgreSQL (branch ``procrastinate``); nothing on SQLite.

The schema text is Procrastinate's, shipped in its wheel, applied as it is, so the installed
Procrastinate version and the database agree.

Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "p0001"
down_revision = "0001"
branch_labels = ("procrastinate",)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # The driver treats % as a placeholder marker; Procrastinate escapes it the same way.
    bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
    # The schema's functions and types outlive its tables; they are found in the catalog, so
    # whatever the installed Procrastinate version created goes, and upgrade can run again.
    for kind, name in bind.exec_driver_sql(_FUNCTIONS_AND_TYPES).all():
        bind.exec_driver_sql(f"DROP {kind} IF EXISTS {name} CASCADE")


_FUNCTIONS_AND_TYPES = """
SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
 WHERE p.pronamespace = current_schema()::regnamespace
   AND starts_with(p.proname, 'procrastinate_')
UNION ALL
SELECT 'TYPE', quote_ident(t.typname) FROM pg_type t
 WHERE t.typnamespace = current_schema()::regnamespace
   AND starts_with(t.typname, 'procrastinate_') AND t.typtype IN ('c', 'e')
"""
