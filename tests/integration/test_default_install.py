"""The install a newcomer gets: no ``AICS_`` variable set, data in ``./data`` of the working dir.

Everything else in the suite hands the system absolute temporary folders, which is how a relative
data directory once broke every real order without a single test noticing. These tests run the
real ``aics`` console script in a fresh working directory with every default.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.workflow import Workflow

AICS = str(Path(sys.executable).with_name("aics"))


def _defaults_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}


def _product_photo(path: Path) -> bytes:
    img = Image.new("RGB", (480, 360), (235, 235, 230))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((150, 90, 330, 270), radius=30, fill=(200, 30, 40))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path.read_bytes()


def _aics(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AICS, *args],
        cwd=cwd,
        env=_defaults_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_an_order_runs_to_the_end_with_every_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    photo = tmp_path / "Pictures" / "product.png"  # outside the data directory
    _product_photo(photo)

    chat = _aics(
        shop, "chat", "--customer", "buyer_1", "--no-ocr", stdin=f"/image {photo} 帮我抠图\n/pay\n"
    )
    assert chat.returncode == 0, chat.stderr
    assert "Traceback" not in chat.stderr and "Logfire" not in chat.stdout + chat.stderr
    assert "订单号 TASK_" in chat.stdout and "已收到您的付款" in chat.stdout
    assert "已处理完成" in chat.stdout, chat.stdout
    assert "[平台]" not in chat.stdout and "applied" not in chat.stdout
    assert (shop / "data" / "ai_cs.db").is_file()
    assert not (shop / "data" / "data").exists()

    # The API of the same install, started as `aics serve` would: from the same directory.
    monkeypatch.chdir(shop)
    for name in [k for k in os.environ if k.startswith("AICS_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert settings.data_dir == shop / "data"
    workflow = Workflow(settings=settings)
    try:
        task = workflow.get_customer_tasks("buyer_1")[0]
        assert task["status"] == "awaiting_confirm", task
        assert task["error_message"] is None and task["retry_count"] == 0
        assert task["result_image"].startswith("results/")
        assert task["requirements"]["stored_image"].startswith("images/")
        with workflow.db.write() as session:
            key = create_key(session, workflow.clock, name="店长", scope="staff")
        monkeypatch.chdir(tmp_path)  # wherever the server's working directory goes later
        with (
            ThreadedServer(create_app(settings, workflow=workflow)) as server,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api,
        ):
            result = api.get(f"/api/v1/tasks/{task['task_id']}/result")
            assert result.status_code == 200, result.text
            with Image.open(io.BytesIO(result.content)) as cut_out:
                assert cut_out.mode == "RGBA" and cut_out.size == (480, 360)
            original = api.get(f"/api/v1/tasks/{task['task_id']}/original")
            assert original.status_code == 200, original.text
            stored = shop / "data" / task["requirements"]["stored_image"]
            assert original.content == stored.read_bytes()
    finally:
        workflow.close()


def test_read_only_commands_and_chat_share_the_default_database(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    photo = tmp_path / "p.png"
    _product_photo(photo)
    upgraded = _aics(shop, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    chat = _aics(shop, "chat", "--customer", "b2", "--no-ocr", stdin=f"/image {photo} 抠图\n")
    assert chat.returncode == 0, chat.stderr
    listed = _aics(shop, "tasks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"customer_id": "b2"' in listed.stdout
