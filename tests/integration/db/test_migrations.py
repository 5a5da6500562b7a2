"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL.

Alembic's autogenerate comparison (types and server defaults included) between a database
migrated to the heads and the metadata of every ``ai_cs.*.models`` module finds nothing to do.
Procrastinate's own tables (p0001, PostgreSQL only) are not ours and are left out.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.util import find_spec
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import ai_cs
from ai_cs.db.database import Database
from ai_cs.db.migrate import upgrade
from ai_cs.db.models import Base


def _load_models() -> list[str]:
    packages = [pkg.name for pkg in pkgutil.iter_modules(ai_cs.__path__) if pkg.ispkg]
    found = [f"ai_cs.{name}.models" for name in packages if find_spec(f"ai_cs.{name}.models")]
    for name in found:
        importlib.import_module(name)
    return found


def _ours(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    return type_ != "table" or not (name or "").startswith("procrastinate_")


def test_migrations_build_the_models_schema(database_url: str) -> None:
    assert len(_load_models()) >= 9
    db = Database(database_url)
    upgrade(db)
    opts = {"compare_type": True, "compare_server_default": True, "include_name": _ours}
    with db.writer.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diffs == []
    assert len(Base.metadata.tables) >= 29
