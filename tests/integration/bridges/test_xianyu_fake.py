"""The mtop client and the frames against the fake Goofish service, over real loopback HTTP/ws."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu.cookies import CookieJar
from ai_cs.bridges.xianyu.mtop import LoggedOut, MtopClient, NeedsVerification
from ai_cs.bridges.xianyu.sim import FakeGoofish

pytestmark = pytest.mark.anyio


def _client(fake: FakeGoofish, jar: CookieJar, http: httpx.AsyncClient, **kw: object) -> MtopClient:
    env = fake.env()
    return MtopClient(
        jar,
        http,
        mtop_url=env["AICS_XIANYU_MTOP_URL"],
        passport_url=env["AICS_XIANYU_PASSPORT_URL"],
        upload_url=env["AICS_XIANYU_UPLOAD_URL"],
        **kw,  # type: ignore[arg-type]
    )


async def test_token_with_valid_sign_and_one_retry_after_token_expiry(fake: FakeGoofish) -> None:
    account = fake.add_account("1000000001")
    account.expire_sign_token_once = True
    jar = CookieJar.parse(account.cookie())  # holds a stale second _m_h5_tk: the first wins
    renewed: list[str] = []
    async with httpx.AsyncClient() as http:
        client = _client(fake, jar, http, on_cookies=lambda j: renewed.append(j.sign_token))
        device = fr.new_device_id("1000000001")
        token = await client.im_token(device)
    assert token.device_id == device and account.tokens[token.access_token] == device
    assert [c["expired"] for c in account.token_calls] == [True, False]
    assert jar.sign_token == account.sign_token.split("_")[0] == renewed[-1]
    assert token.expires_epoch is not None and token.expires_epoch > 1e9


async def test_risk_control_and_dead_login_are_told_apart(fake: FakeGoofish) -> None:
    account = fake.add_account("1000000002")
    async with httpx.AsyncClient() as http:
        client = _client(fake, CookieJar.parse(account.cookie()), http)
        account.risk = "verify"
        with pytest.raises(NeedsVerification) as err:
            await client.im_token(fr.new_device_id("1000000002"))
        assert "punish" in str(err.value.details.get("url"))
        account.risk = "logged_out"
        with pytest.raises(LoggedOut):
            await client.order_detail("1")
        assert await client.has_login() is False
        account.risk = ""
        assert await client.has_login() is True


async def test_upload_then_order_detail_and_consign(fake: FakeGoofish) -> None:
    account = fake.add_account("1000000003")
    fake.add_order("4012345678901234567", buyer="22", seller="1000000003", amount_fen=6000)
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (10, 200, 30)).save(buf, format="PNG")
    async with httpx.AsyncClient() as http:
        client = _client(fake, CookieJar.parse(account.cookie()), http)
        uploaded = await client.upload(buf.getvalue(), "result.png", "image/png")
        assert (uploaded.width, uploaded.height) == (320, 200)
        served = await http.get(uploaded.url)
        assert served.status_code == 200 and served.content == buf.getvalue()
        detail = await client.order_detail("4012345678901234567")
        assert (detail.buyer_id, detail.amount_fen) == ("22", 6000)
        await client.consign_dummy("4012345678901234567")
    assert account.consigned == ["4012345678901234567"]


async def test_reg_needs_the_token_device_id_and_pushes_are_msgpack(fake: FakeGoofish) -> None:
    account = fake.add_account("1000000004")
    jar = CookieJar.parse(account.cookie())
    device = fr.new_device_id("1000000004")
    async with httpx.AsyncClient() as http:
        token = await _client(fake, jar, http).im_token(device)
    headers = {"Cookie": jar.header(), "Origin": "https://www.goofish.com"}
    async with connect(fake.env()["AICS_XIANYU_WS_URL"], additional_headers=headers) as ws:
        await ws.send(
            fr.dumps(fr.reg_frame(token.access_token, fr.new_device_id("1000000004"), "1 0"))
        )
        refused = json.loads(await ws.recv())
        assert refused["code"] == 401 and "device id" in refused["body"]["reason"]
        await ws.send(fr.dumps(fr.reg_frame(token.access_token, device, "2 0")))
        assert json.loads(await ws.recv()) == {"code": 200, "headers": {"mid": "2 0"}}
        vulcan = fr.parse_incoming(await ws.recv())
        assert vulcan is not None and vulcan.lwp == "/s/vulcan"
        await ws.send(fr.dumps(fr.heartbeat_frame("3 0")))
        assert json.loads(await ws.recv())["headers"]["mid"] == "3 0"
        await fake.say("1000000004", "22", "55", "在吗")
        push = fr.parse_incoming(await ws.recv())
        assert push is not None and push.lwp == "/s/sync" and push.mid is not None
        (entry,) = fr.push_entries(push.body)
        decoded = fr.decode_entry(entry)
        assert isinstance(decoded, fr.Decoded) and decoded.kind == "msgpack"
        await ws.send(fr.dumps(fr.ack_frame(push.headers)))
        assert await fake.wait_for(lambda: account.acks[push.mid or ""] == 1)
    assert account.regs == [(account.regs[0][0], False), (device, True)]
    assert account.heartbeats == 1


async def test_every_call_tells_the_owner_about_risk_control_before_raising(
    fake: FakeGoofish,
) -> None:
    account = fake.add_account("1000000005")
    blocked: list[str] = []
    async with httpx.AsyncClient() as http:
        client = _client(
            fake,
            CookieJar.parse(account.cookie()),
            http,
            on_blocked=lambda exc: blocked.append(type(exc).__name__),
        )
        await client.item_detail("700000001")  # fine: nothing told
        assert blocked == []
        account.risk = "verify"
        with pytest.raises(NeedsVerification):
            await client.item_detail("700000001")
        with pytest.raises(NeedsVerification):
            await client.consign_dummy("4012345678901234567")
        account.risk = "logged_out"
        with pytest.raises(LoggedOut):
            await client.order_detail("4012345678901234567")
        with pytest.raises(LoggedOut):
            await client.upload(b"\x89PNG", "a.png", "image/png")
    assert blocked == ["NeedsVerification", "NeedsVerification", "LoggedOut", "LoggedOut"]
