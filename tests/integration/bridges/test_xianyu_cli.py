"""The bridge's commands as a shop runs them: ``aics accounts``, ``aics bridge xianyu --port``
(the bridge alone, serving §7 to a gateway client elsewhere) and ``aics xianyu-sim``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect

from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu.cookies import CookieJar
from ai_cs.bridges.xianyu.mtop import MtopClient
from ai_cs.bridges.xianyu.sim import FakeGoofish
from ai_cs.cli import build_app

pytestmark = pytest.mark.anyio

AICS = str(Path(sys.executable).with_name("aics"))
SELLER = "1000000001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICS_")}
    env.update(AICS_DATA_DIR=str(tmp_path / "data"), AICS_LOG_FORMAT="text", **settings)
    return env


@asynccontextmanager
async def _running(
    args: list[str], env: dict[str, str], cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``aics ARGS`` until the block ends, then Ctrl-C; it must exit 0 without a traceback."""
    proc = await asyncio.create_subprocess_exec(
        AICS,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"Traceback" not in err, err.decode()[-2000:]


async def _line(proc: asyncio.subprocess.Process, pattern: str, timeout: float = 60.0) -> str:
    """The first line of standard output matching ``pattern``."""
    assert proc.stdout is not None

    async def read() -> str:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError(f"output ended before a line matching {pattern!r}")
            line = raw.decode("utf-8").strip()
            if re.search(pattern, line):
                return line

    return await asyncio.wait_for(read(), timeout)


def test_accounts_add_list_pause_resume_remove(runner: CliRunner, tmp_path: Path) -> None:
    app = build_app()
    cookie = (
        f"unb={SELLER}; cookie2=secretsession42; _m_h5_tk=abc123_1700000000000; "
        "tracknick=%E5%B0%8F%E5%BA%97"
    )
    (tmp_path / "cookie.txt").write_text(cookie, encoding="utf-8")

    assert runner.invoke(app, ["accounts", "list"]).exit_code == 2  # no database yet
    added = runner.invoke(app, ["accounts", "add", "xianyu", "--cookie-file", "cookie.txt"])
    assert added.exit_code == 0, added.output
    assert f"xianyu account {SELLER} (小店) added; state new" in added.output

    listed = runner.invoke(app, ["accounts", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["account_id"], row["nick"], row["state"], row["paused"]) == (
        SELLER,
        "小店",
        "new",
        False,
    )
    assert "secretsession42" not in listed.output and "abc123" not in listed.output

    table = runner.invoke(app, ["accounts", "list"], terminal_width=200)
    assert table.exit_code == 0 and SELLER in table.output and "未连接" in table.output

    assert runner.invoke(app, ["accounts", "pause", "xianyu", SELLER]).exit_code == 0
    paused = json.loads(runner.invoke(app, ["accounts", "list", "--json"]).output)
    assert (paused[0]["state"], paused[0]["paused"]) == ("paused", True)
    assert runner.invoke(app, ["accounts", "resume", "xianyu", SELLER]).exit_code == 0
    resumed = json.loads(runner.invoke(app, ["accounts", "list", "--json"]).output)
    assert (resumed[0]["state"], resumed[0]["paused"]) == ("new", False)

    # The same account again is an update (a fresh cookie), never a second row.
    again = runner.invoke(app, ["accounts", "add", "xianyu", "--cookie-file", "cookie.txt"])
    assert "updated (new cookie)" in again.output
    assert len(json.loads(runner.invoke(app, ["accounts", "list", "--json"]).output)) == 1

    unknown = runner.invoke(app, ["accounts", "pause", "taobao", SELLER])
    assert unknown.exit_code == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("cookie2=x", encoding="utf-8")
    refused = runner.invoke(app, ["accounts", "add", "xianyu", "--cookie-file", str(bad)])
    assert refused.exit_code == 2 and "unb" in refused.output

    assert runner.invoke(app, ["accounts", "remove", "xianyu", SELLER]).exit_code == 0
    assert json.loads(runner.invoke(app, ["accounts", "list", "--json"]).output) == []
    assert runner.invoke(app, ["accounts", "remove", "xianyu", SELLER]).exit_code == 2


async def test_bridge_xianyu_port_serves_the_gateway_protocol(tmp_path: Path) -> None:
    async with FakeGoofish() as fake:
        seller = fake.add_account(SELLER, "修图小店")
        env = _env(tmp_path, **fake.env(), AICS_XIANYU_COOKIE=seller.cookie())
        port = _free_port()
        async with _running(["bridge", "xianyu", "--port", str(port)], env, tmp_path) as proc:
            line = await _line(proc, r"AICS_GATEWAY_URL=ws://")
            url = line.split("AICS_GATEWAY_URL=", 1)[1].split()[0]
            assert re.fullmatch(rf"ws://127\.0\.0\.1:{port}/[\w-]{{20,}}", url), url
            assert await fake.wait_registered(SELLER, 60)

            # A §7 client elsewhere joins with the printed URL (a guessed path is refused).
            with pytest.raises(Exception, match="404"):
                async with connect(url.rsplit("/", 1)[0] + "/guess"):
                    pass
            async with connect(url) as gateway:
                message_id = await fake.say(SELLER, "2201", "cid-1", "在吗")
                frame = json.loads(await asyncio.wait_for(gateway.recv(), 30))
                event = frame["event"]
                assert (frame["type"], event["event_id"]) == (
                    "event",
                    f"xianyu:{SELLER}:{message_id}",
                )
                assert (event["platform"], event["account_id"], event["sender"]["id"]) == (
                    "xianyu",
                    SELLER,
                    "2201",
                )
                # The marketplace's push is acknowledged once ai-cs acked the event.
                assert seller.acks[seller.pushes[-1]] == 0
                await gateway.send(json.dumps({"type": "ack", "event_id": event["event_id"]}))
                assert await fake.wait_for(lambda: seller.acks[seller.pushes[-1]] == 1)

                send = {
                    "type": "send",
                    "command_id": "cmd-1",
                    "account_id": SELLER,
                    "conversation_id": "cid-1",
                    "to": "2201",
                    "message": {"kind": "text", "text": "在的，请发图", "attachments": []},
                }
                await gateway.send(json.dumps(send, ensure_ascii=False))
                answer = json.loads(await asyncio.wait_for(gateway.recv(), 30))
                assert answer == {"type": "sent", "command_id": "cmd-1"}
                assert [s.text for s in fake.sent_to(SELLER, "cid-1")] == ["在的，请发图"]


async def test_xianyu_sim_serves_a_fake_marketplace(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = ["xianyu-sim", "--port", "0", "--account", SELLER, "--account", "1000000002"]
    async with _running(args, env, tmp_path) as proc:
        cookie = (await _line(proc, rf"^cookie of {SELLER}: ")).split(": ", 1)[1]
        await _line(proc, r"^cookie of 1000000002: ")
        settings: dict[str, str] = {}
        for _ in range(4):
            key, _, value = (await _line(proc, r"^export AICS_XIANYU_"))[7:].partition("=")
            settings[key] = value.strip("'")
        assert set(settings) == {
            "AICS_XIANYU_WS_URL",
            "AICS_XIANYU_MTOP_URL",
            "AICS_XIANYU_PASSPORT_URL",
            "AICS_XIANYU_UPLOAD_URL",
        }
        base = settings["AICS_XIANYU_MTOP_URL"].removesuffix("/h5/")
        async with httpx.AsyncClient(trust_env=False) as http:
            client = MtopClient(
                CookieJar.parse(cookie),
                http,
                mtop_url=settings["AICS_XIANYU_MTOP_URL"],
                passport_url=settings["AICS_XIANYU_PASSPORT_URL"],
                upload_url=settings["AICS_XIANYU_UPLOAD_URL"],
            )
            device = fr.new_device_id(SELLER)
            token = await client.im_token(device)
            say = {"account": SELLER, "buyer": "2201", "text": "在吗"}
            said = await http.post(f"{base}/_sim/say", params=say)
            assert said.status_code == 409  # nobody is connected to receive it yet

            headers = {"Cookie": cookie, "Origin": "https://www.goofish.com"}
            async with connect(settings["AICS_XIANYU_WS_URL"], additional_headers=headers) as ws:
                await ws.send(fr.dumps(fr.reg_frame(token.access_token, device, "1 0")))
                assert json.loads(await ws.recv())["code"] == 200
                said = await http.post(f"{base}/_sim/say", params=say)
                assert said.status_code == 200
                pushes = []
                while len(pushes) < 1:
                    incoming = fr.parse_incoming(await asyncio.wait_for(ws.recv(), 10))
                    assert incoming is not None
                    if incoming.lwp == "/s/sync":
                        pushes.append(incoming)
                (entry,) = fr.push_entries(pushes[0].body)
                decoded = fr.decode_entry(entry)
                assert isinstance(decoded, fr.Decoded)
                assert decoded.value["1"]["3"] == said.json()["message_id"]
                state = (await http.get(f"{base}/_sim/state")).json()
                assert set(state) == {SELLER, "1000000002"}
                assert state[SELLER]["connected"] is True
                assert state["1000000002"]["connected"] is False
