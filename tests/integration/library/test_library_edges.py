"""The library's HTTP routes on the real API app and ``aics library`` on the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from library_support import bottle, encoded, write
from typer.testing import CliRunner

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.cli import build_app
from ai_cs.config import Settings
from ai_cs.library.service import AddReport
from ai_cs.workflow import Workflow


@pytest.fixture
def client(workflow: Workflow, settings: Settings) -> Iterator[httpx.Client]:
    with workflow.db.write() as session:
        key = create_key(session, workflow.clock, name="客服", scope="staff")
    app = create_app(settings, workflow=workflow)
    with (
        ThreadedServer(app) as server,
        httpx.Client(
            base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"}
        ) as http,
    ):
        yield http


def test_search_routes(client: httpx.Client, indexed: AddReport) -> None:
    found = client.get("/api/v1/library", params={"q": "蓝色水瓶"}).json()
    assert found["count"] == 1 and found["data"][0]["resolution"] == "1000×1000"
    everything = client.get("/api/v1/library").json()
    assert everything["count"] == 2

    copy = encoded(bottle(), "JPEG", 0.4, quality=55)
    by_picture = client.post("/api/v1/library/search", files={"image": ("c.jpg", copy)}).json()
    assert [m["file_name"] for m in by_picture["data"]] == ["蓝色水瓶_主图.png"]

    for bad in (b"", b"GIF89a....", b"\xff\xd8\xff" + b"\x00" * 50):
        response = client.post("/api/v1/library/search", files={"image": ("x.jpg", bad)})
        assert response.status_code == 422, response.text
        assert set(response.json()["error"]) == {"code", "message"}
    assert client.post("/api/v1/library/search").status_code == 422
    assert httpx.get(f"{client.base_url}/api/v1/library").status_code == 401


def test_cli_add_and_search(db_runner: CliRunner, library_dir: Path, tmp_path: Path) -> None:
    app = build_app()
    added = db_runner.invoke(app, ["library", "add", str(library_dir), "--no-ocr", "--json"])
    assert added.exit_code == 0, added.output
    summary = json.loads(added.output)
    assert (summary["added"], len(summary["failed"])) == (2, 1)

    copy = write(tmp_path / "copy.jpg", encoded(bottle(), "JPEG", 0.5, quality=60))
    found = db_runner.invoke(app, ["library", "search", "--image", str(copy), "--json"])
    assert found.exit_code == 0, found.output
    assert [m["file_name"] for m in json.loads(found.output)["data"]] == ["蓝色水瓶_主图.png"]

    words = db_runner.invoke(app, ["library", "search", "山景", "--json"])
    assert json.loads(words.output)["data"][0]["file_name"] == "山景_日出.jpg"
    assert db_runner.invoke(app, ["library", "search", "不存在的东西"]).exit_code == 1
    assert db_runner.invoke(app, ["library", "search"]).exit_code == 2
