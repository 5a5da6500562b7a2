"""``aics serve`` with two 闲鱼 accounts against the fake Goofish: issue 15's "Done when".

The bridge runs in-process in ``aics serve`` exactly as in production; only the four endpoint
settings (``AICS_XIANYU_*_URL``) point at the fake on loopback. One account comes from
``AICS_XIANYU_COOKIE``, the other from ``aics accounts add xianyu --cookie-file``. The pacing is
configuration too: a heartbeat every second and short reconnect delays, so nothing here waits
for the production intervals (15 s heartbeats, 2 s first reconnect).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu.sim import FakeGoofish, chat_map
from ai_cs.gateway.sim import demo_picture

pytestmark = pytest.mark.anyio

AICS = str(Path(sys.executable).with_name("aics"))
SELLER_A, SELLER_B = "1000000001", "1000000002"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # not migrated yet


def _paused(db: Path, account_id: str, cid: str | None = None) -> bool:
    sql = (
        "SELECT 1 FROM conversations WHERE account_id = ? AND takeover_until > strftime('%s','now')"
    )
    rows = _query(db, sql, account_id)
    if cid is not None:
        rows = _query(db, sql + " AND chat_id = ?", account_id, cid)
    return bool(rows)


async def _until(predicate: Any, timeout: float = 60.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or predicate}")


async def test_aics_serve_bridges_two_accounts_against_the_fake(tmp_path: Path) -> None:
    async with FakeGoofish() as fake:
        a = fake.add_account(SELLER_A, "小店A")
        b = fake.add_account(SELLER_B, "小店B")
        a.expire_sign_token_once = True
        data = tmp_path / "data"
        db = data / "ai_cs.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
        env.update(fake.env())
        env.update(
            AICS_DATA_DIR=str(data),
            AICS_API_PORT=str(_free_port()),
            AICS_DISPATCH_PORT=str(_free_port()),
            AICS_FETCH_ALLOWED_HOSTS="127.0.0.1:*",
            AICS_GATEWAY_BURST_WINDOW_MS="0",
            AICS_XIANYU_COOKIE=a.cookie(),
            AICS_XIANYU_HEARTBEAT_SECONDS="1",
            AICS_XIANYU_RECONNECT_BASE_SECONDS="0.2",
            AICS_XIANYU_RECONNECT_CAP_SECONDS="1",
        )
        cookie_file = tmp_path / "cookie-b.txt"
        cookie_file.write_text(b.cookie(), encoding="utf-8")
        added = await asyncio.to_thread(
            subprocess.run,
            [AICS, "accounts", "add", "xianyu", "--cookie-file", str(cookie_file)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, added.stderr
        assert f"xianyu account {SELLER_B}" in added.stdout
        log = (tmp_path / "serve.log").open("w")
        process = subprocess.Popen(
            [AICS, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            await _run(fake, a, b, db)
            assert process.poll() is None, "aics serve died"
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.to_thread(process.wait, 60)
            log.close()
        output = (tmp_path / "serve.log").read_text(encoding="utf-8")
        assert "Traceback" not in output, output[-3000:]
        # Cookies are encrypted at rest: the cookie2 value is nowhere in the database file.
        assert a.cookie2.encode() not in db.read_bytes()


async def _run(fake: FakeGoofish, a: Any, b: Any, db: Path) -> None:
    assert await fake.wait_registered(SELLER_A, 120) and await fake.wait_registered(SELLER_B, 60)

    # Token with a valid sign, after one 令牌过期 retry; /reg with the device id bound to it.
    assert [c["expired"] for c in a.token_calls] == [True, False]
    assert all(c["sign_ok"] for c in a.token_calls)
    (device_a,) = _query(
        db, "SELECT device_id FROM marketplace_accounts WHERE account_id = ?", SELLER_A
    )[0]
    assert a.regs == [(device_a, True)] and a.token_calls[-1]["device_id"] == device_a

    # A buyer's text is answered.
    await fake.say(SELLER_A, "2201", "cid-a1", "你好，在吗")
    assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a1")) >= 1, 60)

    # Two entries in one push (a picture with words in one chat, a question in another).
    url = fake.add_picture("product.png", demo_picture())
    _, picture = fake.picture_entry("2201", "cid-a1", url, 800, 600)
    words = chat_map(
        cid="cid-a1",
        sender="2201",
        message_id=fake.new_message_id(),
        content=fr.content_text("帮我抠图，背景不要了"),
    )
    question_id = fake.new_message_id()
    question = chat_map(
        cid="cid-a2", sender="2202", message_id=question_id, content=fr.content_text("你好")
    )
    before = len(fake.sent_to(SELLER_A, "cid-a1"))
    await fake.push(SELLER_A, [picture, words, question])
    assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a2")) >= 1, 60)
    assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a1")) > before, 60)

    # The picture is quoted with a task for that account.
    await _until(
        lambda: _query(db, "SELECT 1 FROM image_tasks WHERE acc_id = ?", SELLER_A), 60, "task"
    )
    task_id, price, acc_type, customer = _query(
        db,
        "SELECT task_id, price_fen, acc_type, customer_id FROM image_tasks WHERE acc_id = ?",
        SELLER_A,
    )[0]
    assert (acc_type, customer) == ("xianyu", "2201") and price > 0

    # The same message id pushed again is not answered again.
    answered = len(fake.sent_to(SELLER_A, "cid-a2"))
    again = await fake.push(SELLER_A, [question])
    assert await fake.wait_for(lambda: a.acks[again] == 1, 30)  # handed on and acked
    await asyncio.sleep(1.0)
    assert len(fake.sent_to(SELLER_A, "cid-a2")) == answered
    assert (
        _query(
            db,
            "SELECT count(*) FROM gateway_inbox WHERE event_id = ?",
            f"xianyu:{SELLER_A}:{question_id}",
        )[0][0]
        == 1
    )

    # Our own echoes never paused the AI.
    assert not _paused(db, SELLER_A)

    # The payment card moves the task to paid, and the result reaches the buyer: an uploaded
    # picture message, then the link.
    fake.add_order("4012345678901234567", buyer="2201", seller=SELLER_A, amount_fen=int(price))
    await fake.pay(SELLER_A, "2201", "cid-a1", "4012345678901234567")
    await _until(
        lambda: (
            _query(db, "SELECT status FROM image_tasks WHERE task_id = ?", task_id)[0][0]
            != "pending"
        ),
        60,
        "payment",
    )
    assert (
        _query(db, "SELECT outcome FROM payments WHERE payment_id = ?", "4012345678901234567")[0][0]
        == "applied"
    )

    def delivered() -> bool:
        sent = fake.sent_to(SELLER_A, "cid-a1")
        pics = [p for s in sent for p in s.pictures]
        return any(p["url"].startswith(f"{fake.base}/img/up-") for p in pics) and any(
            "/r/" in s.text for s in sent
        )

    assert await fake.wait_for(delivered, 120), [
        s.content for s in fake.sent_to(SELLER_A, "cid-a1")
    ]

    # A person typing in the shop's app pauses the AI in that chat only.
    await fake.seller_types(SELLER_A, "2202", "cid-a2", "这单我来处理")
    await _until(lambda: _paused(db, SELLER_A, "cid-a2"), 30, "takeover")
    assert not _paused(db, SELLER_A, "cid-a1")

    # Account B: its own connection and its own task, isolated from A.
    url_b = fake.add_picture("b.png", demo_picture("B 50%"))
    await fake.send_picture(SELLER_B, "3301", "cid-b1", url_b, 800, 600)
    await _until(
        lambda: _query(db, "SELECT 1 FROM image_tasks WHERE acc_id = ?", SELLER_B), 60, "task B"
    )
    assert fake.sent_to(SELLER_A, "cid-b1") == []
    assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_B, "cid-b1")) >= 1, 60)
    assert _query(db, "SELECT count(*) FROM image_tasks WHERE acc_id = ?", SELLER_A)[0][0] == 1

    # Heartbeats, and every push acknowledged exactly once.
    assert await fake.wait_for(lambda: a.heartbeats >= 2, 30)
    assert await fake.wait_for(lambda: all(a.acks[m] == 1 for m in a.pushes), 30), a.acks

    # A dropped socket reconnects and the account answers again.
    await fake.drop(SELLER_A)
    assert await fake.wait_registered(SELLER_A, 60) and a.connections == 2
    await fake.say(SELLER_A, "2203", "cid-a3", "还在吗")
    assert await fake.wait_for(lambda: len(fake.sent_to(SELLER_A, "cid-a3")) >= 1, 60)

    # Risk control moves B to needs_verification without a crash; A stays online.
    b.risk = "verify"
    await fake.drop(SELLER_B)
    await _until(
        lambda: (
            _query(db, "SELECT state FROM marketplace_accounts WHERE account_id = ?", SELLER_B)[0][
                0
            ]
            == "needs_verification"
        ),
        60,
        "needs_verification",
    )
    assert (
        _query(db, "SELECT state FROM marketplace_accounts WHERE account_id = ?", SELLER_A)[0][0]
        == "online"
    )
