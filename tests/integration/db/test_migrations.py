"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL.

Alembic's autogenerate comparison (types and server defaults included) between a database
migrated to the heads and the metadata of every ``ai_cs.*.models`` module finds nothing to do.
Procrastinate's own tables (p0001, PostgreSQL only) are not ours and are left out. Every
migration also goes back down: to base leaves an empty database, and upgrading again works.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.util import find_spec
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import ai_cs
from ai_cs.db.database import Database
from ai_cs.db.migrate import alembic_config, upgrade
from ai_cs.db.models import Base


def _load_models() -> list[str]:
    packages = [pkg.name for pkg in pkgutil.iter_modules(ai_cs.__path__) if pkg.ispkg]
    found = [f"ai_cs.{name}.models" for name in packages if find_spec(f"ai_cs.{name}.models")]
    for name in found:
        importlib.import_module(name)
    return found


def _ours(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    return type_ != "table" or not (name or "").startswith("procrastinate_")


def _models_diff(db: Database) -> list[Any]:
    opts = {"compare_type": True, "compare_server_default": True, "include_name": _ours}
    with db.writer.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)


def test_migrations_build_the_models_schema(database_url: str) -> None:
    assert len(_load_models()) >= 9
    db = Database(database_url)
    upgrade(db)
    assert _models_diff(db) == []
    assert len(Base.metadata.tables) >= 29


_OURS = "NOT IN ('alembic_version', '_alembic_version')"
_LEFT_OVER = {
    "tables": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    f" AND tablename {_OURS}",
    "functions": "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace",
    "types": "SELECT typname FROM pg_type WHERE typnamespace = current_schema()::regnamespace"
    f" AND typname {_OURS}",
}
_SQLITE_LEFT_OVER = f"SELECT name FROM sqlite_master WHERE tbl_name {_OURS}"


def test_downgrade_to_base_leaves_nothing_and_upgrades_again(database_url: str) -> None:
    _load_models()
    db = Database(database_url)
    upgrade(db)
    cfg = alembic_config(db.url)
    with db.writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    queries = {"tables": _SQLITE_LEFT_OVER} if db.is_sqlite else _LEFT_OVER
    with db.writer.connect() as conn:
        left = {kind: conn.exec_driver_sql(sql).scalars().all() for kind, sql in queries.items()}
    assert left == {kind: [] for kind in left}
    upgrade(db)
    assert _models_diff(db) == []
