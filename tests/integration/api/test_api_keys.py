"""``aics keys create`` keys work on the API and are not stored in plain text anywhere."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from api_helpers import bearer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ai_cs.api.server import ThreadedServer
from ai_cs.cli import build_app
from ai_cs.config import get_settings
from ai_cs.workflow import Workflow

MakeTask = Callable[..., dict[str, Any]]


def _aics(args: list[str], database_url: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "AICS_DATABASE_URL": database_url,
        "AICS_DATA_DIR": str(cwd / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ai_cs", *args],
        env=env,
        cwd=cwd,  # no stray .env from the project directory
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _raw_sqlite_bytes(database_url: str) -> bytes:
    path = Path(make_url(database_url).database or "")
    data = b""
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            data += part.read_bytes()
    return data


def test_cli_keys_are_stored_hashed(
    database_url: str, workflow: Workflow, server: ThreadedServer, tmp_path: Path
) -> None:
    key = _aics(
        ["keys", "create", "--name", "客服小李", "--scope", "staff"], database_url, tmp_path
    ).strip()
    prefix, key_id, secret = key.split("_", 2)
    assert prefix == "aics" and len(secret) >= 40

    # The key works on the API …
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/v1/tasks", headers=bearer(key)).status_code == 200

    # … and nothing in the database holds it: every column of every api_keys row, as text.
    with workflow.db.read() as session:
        rows = [dict(r._mapping) for r in session.execute(text("SELECT * FROM api_keys"))]
    assert [r["key_id"] for r in rows] == [key_id]
    dumped = repr(rows)
    assert key not in dumped and secret not in dumped
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()

    listed = _aics(["keys", "list", "--json"], database_url, tmp_path)
    assert key_id in listed and secret not in listed

    if database_url.startswith("sqlite"):
        # The raw file bytes (with the WAL) after a checkpoint-free write: id yes, secret no.
        raw = _raw_sqlite_bytes(database_url)
        assert key_id.encode() in raw  # we are looking at the right file
        assert secret.encode() not in raw and key.encode() not in raw
    else:
        with workflow.db.read() as session:
            dump = session.execute(
                text("SELECT string_agg(t::text, '|') FROM api_keys AS t")
            ).scalar_one()
        assert key_id in dump and secret not in dump


def test_cli_key_scopes_apply(
    database_url: str, workflow: Workflow, server: ThreadedServer, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"AICS_DATABASE_URL": database_url, "AICS_DATA_DIR": str(tmp_path / "data")}
    keys = {}
    get_settings.cache_clear()
    try:
        for scope, extra in (("partner", ["--acc-id", "shop_a"]), ("designer", [])):
            args = ["keys", "create", "--name", f"k-{scope}", "--scope", scope, *extra]
            result = runner.invoke(build_app(), args, env=env)
            assert result.exit_code == 0, result.output
            keys[scope] = result.stdout.strip()
    finally:
        get_settings.cache_clear()
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/v1/tasks", headers=bearer(keys["partner"])).status_code == 200
        assert client.get("/api/v1/tasks", headers=bearer(keys["designer"])).status_code == 403


def test_a_partner_key_must_name_its_shop(
    workflow: Workflow, make_task: MakeTask, client: httpx.Client
) -> None:
    from sqlalchemy import update

    from ai_cs.auth.models import ApiKey
    from ai_cs.auth.service import create_key
    from ai_cs.errors import InvalidArgument

    with workflow.db.write() as session:
        for shops in (None, [], ["", "  "]):
            try:
                create_key(session, workflow.clock, name="合作方", scope="partner", acc_ids=shops)
            except InvalidArgument as exc:
                assert "must name its shop" in exc.message
            else:
                raise AssertionError(f"a partner key without a shop was made ({shops!r})")
        legacy = create_key(
            session, workflow.clock, name="旧合作方", scope="partner", acc_ids=["x"]
        )
        # A key stored before the rule, with no shop at all: it must see no task, not all.
        session.execute(update(ApiKey).values(acc_ids=None).where(ApiKey.name == "旧合作方"))
    make_task()
    listed = client.get("/api/v1/tasks", headers=bearer(legacy))
    assert listed.status_code == 200 and listed.json()["count"] == 0
