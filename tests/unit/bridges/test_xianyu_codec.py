"""Xianyu protocol pieces without I/O: cookies, sign, ret codes, frames, decoding, mapping."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import msgpack
import pytest

from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu import messages as msg
from ai_cs.bridges.xianyu.cookies import CookieError, CookieJar
from ai_cs.bridges.xianyu.mtop import (
    LoggedOut,
    NeedsVerification,
    TokenExpired,
    XianyuError,
    classify_ret,
    parse_order_detail,
    parse_upload,
    sign,
    yuan_to_fen,
)
from ai_cs.marketplace.protocol import GatewayEvent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "xianyu"
COOKIE = (
    "cna=abc; unb=1000000001; cookie2=c2; _m_h5_tk=firsttoken_1700000000000; "
    "_m_h5_tk_enc=e; _m_h5_tk=secondtoken_1700000000001"
)


# --- cookies ------------------------------------------------------------------------------------
def test_first_m_h5_tk_wins_and_user_id_is_unb() -> None:
    jar = CookieJar.parse("Cookie: " + COOKIE)
    assert jar.sign_token == "firsttoken"
    assert jar.user_id == "1000000001"
    assert jar.header().startswith("cna=abc; unb=1000000001")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", "empty"),
        ("cna=1; _m_h5_tk=a_1", "unb"),
        ("unb=1; cookie2=x", "_m_h5_tk"),
        ("x" * 40000, "characters"),
    ],
)
def test_unusable_cookie_is_refused_naming_what_is_missing(text: str, missing: str) -> None:
    with pytest.raises(CookieError) as err:
        CookieJar.parse(text)
    assert missing in err.value.message
    assert err.value.code == "bad_cookie"


def test_set_cookie_replaces_every_copy_and_deletes() -> None:
    jar = CookieJar.parse(COOKIE)
    changed = jar.merge(
        [
            "_m_h5_tk=newtoken_1; Path=/; Domain=.goofish.com",
            "cookie2=; Max-Age=0; Path=/",
            "x5sec=granted; Path=/",
        ]
    )
    assert changed
    assert jar.sign_token == "newtoken"
    assert jar.names().count("_m_h5_tk") == 1
    assert jar.get("cookie2") is None
    assert jar.get("x5sec") == "granted"
    assert jar.names().index("_m_h5_tk") == 2  # kept where the browser had it
    assert not jar.merge(["x5sec=granted; Path=/"])


# --- mtop ---------------------------------------------------------------------------------------
def test_sign_is_md5_of_token_t_appkey_data() -> None:
    data = '{"appKey":"444e9908a51d1cb236a27862abc769c9","deviceId":"D-1"}'
    expected = hashlib.md5(f"tok&1700000000000&34839810&{data}".encode()).hexdigest()
    assert sign("tok", "1700000000000", data) == expected
    assert len(expected) == 32 and expected == expected.lower()


@pytest.mark.parametrize(
    ("ret", "kind"),
    [
        (["SUCCESS::调用成功"], None),
        (["FAIL_SYS_TOKEN_EXOIRED::令牌过期"], TokenExpired),
        (["FAIL_SYS_TOKEN_EMPTY::令牌为空"], TokenExpired),
        (
            ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"],
            NeedsVerification,
        ),
        (["FAIL_SYS_SESSION_EXPIRED::Session过期"], LoggedOut),
        (["FAIL_BIZ_SOMETHING::别的"], XianyuError),
        ("not a list", XianyuError),
    ],
)
def test_ret_codes_are_classified(ret: object, kind: type[XianyuError] | None) -> None:
    assert classify_ret(ret) is kind


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("30.00", 3000),
        (30, 3000),
        ("¥30.5", 3050),
        ("0.01", 1),
        ("abc", None),
        (None, None),
        ("-1", None),
        (True, None),
    ],
)
def test_yuan_to_fen(value: object, fen: int | None) -> None:
    assert yuan_to_fen(value) == fen


def test_order_detail_read_whatever_the_nesting() -> None:
    data = {"a": {"buyer": {"buyerId": 22}}, "priceInfo": {"payAmount": "60.00"}, "status": "PAID"}
    detail = parse_order_detail("4012", data)
    assert (detail.buyer_id, detail.amount_fen, detail.status) == ("22", 6000, "PAID")
    assert parse_order_detail("1", {}).amount_fen is None


def test_upload_answer_shapes() -> None:
    got = parse_upload({"object": {"url": "https://img.alicdn.com/a.jpg", "pix": "800x600"}})
    assert (got.url, got.width, got.height) == ("https://img.alicdn.com/a.jpg", 800, 600)
    assert parse_upload({"url": "https://cdn/x.png"}).width is None
    with pytest.raises(XianyuError):
        parse_upload({"success": False})


# --- frames -------------------------------------------------------------------------------------
def test_reg_frame_carries_the_device_id_and_token() -> None:
    frame = fr.reg_frame("TOKEN", "DEV-1000000001", "1 0")
    assert frame["lwp"] == "/reg"
    assert frame["headers"]["did"] == "DEV-1000000001"
    assert frame["headers"]["token"] == "TOKEN"
    assert frame["headers"]["app-key"] == "444e9908a51d1cb236a27862abc769c9"


def test_sync_from_now_and_ack_frames() -> None:
    sync = fr.sync_from_now_frame("m 0", 1_700_000_000_000)
    assert sync["body"][0]["pts"] == 1_700_000_000_000_000
    ack = fr.ack_frame({"mid": "m", "sid": "s", "other": 1, "app-key": "k"})
    assert ack == {"code": 200, "headers": {"mid": "m", "sid": "s", "app-key": "k"}}


def test_send_frame_wraps_inner_json_in_base64() -> None:
    frame = fr.send_frame(
        "m 0", conversation_id="55", to="22", me="10", content=fr.content_text("你好")
    )
    message, receivers = frame["body"]
    assert message["cid"] == "55@goofish"
    inner = json.loads(base64.b64decode(message["content"]["custom"]["data"]))
    assert inner == {"contentType": 1, "text": {"text": "你好"}}
    assert receivers["actualReceivers"] == ["22@goofish", "10@goofish"]


def test_device_id_ends_with_the_user_id() -> None:
    device = fr.new_device_id("1000000001")
    assert device.endswith("-1000000001") and len(device) == 36 + 11


def test_incoming_frames_are_parsed_tolerantly() -> None:
    assert fr.parse_incoming("not json") is None
    assert fr.parse_incoming("[1]") is None
    reply = fr.parse_incoming(
        '{"code": 200, "headers": {"mid": "5 0"}, "body": {"messageId": "x"}}'
    )
    assert reply is not None and reply.lwp is None and reply.code == 200 and reply.mid == "5 0"
    push = fr.parse_incoming(json.dumps(fr.sync_push(["a", "b"], "7 0")))
    assert push is not None and push.lwp == "/s/sync"
    assert fr.push_entries(push.body) == ["a", "b"]
    assert fr.push_entries({"syncPushPackage": {"data": [{"nodata": 1}, "x"]}}) == []


# --- decoding -----------------------------------------------------------------------------------
def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def test_fixtures_exist() -> None:
    assert len(_fixtures()) >= 12


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.stem)
def test_fixture_round_trips_through_msgpack_and_classifies(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    wire = fr.encode_entry(fixture["decoded"])
    # The wire form has integer keys, which the plain msgpack defaults refuse.
    with pytest.raises(ValueError):
        msgpack.unpackb(base64.b64decode(wire))
    decoded = fr.decode_entry(wire)
    assert isinstance(decoded, fr.Decoded) and decoded.kind == "msgpack"
    assert decoded.value == fixture["decoded"]
    found = msg.classify(decoded.value)
    expect: dict[str, Any] = fixture["expect"]
    assert type(found).__name__ == expect["type"], found
    if isinstance(found, msg.Chat):
        assert found.kind == expect["kind"]
        for key in ("message_id", "conversation_id", "sender_id", "text"):
            if key in expect:
                assert getattr(found, key) == expect[key]
        if "url" in expect:
            pic = found.pictures[0]
            assert (pic.url, pic.width, pic.height) == (
                expect["url"],
                expect["width"],
                expect["height"],
            )
    elif isinstance(found, msg.OrderCard):
        assert found.state == expect["state"]
        assert found.order_id == expect["order_id"]
        if "conversation_id" in expect:
            assert found.conversation_id == expect["conversation_id"]
    else:
        assert isinstance(found, msg.Skip)
        assert found.unknown == expect["unknown"], found.reason


def test_json_system_entries_and_garbage_never_raise() -> None:
    system = fr.decode_entry(fr.encode_json_entry({"bizType": "IDLE_SPACE_PRICING", "chatType": 1}))
    assert isinstance(system, fr.Decoded) and system.kind == "json"
    garbage = fr.decode_entry("!!!!")
    assert isinstance(garbage, fr.Undecodable) and garbage.raw == "!!!!"
    truncated = fr.decode_entry(fr.encode_entry({"1": {"2": "x" * 100}})[:40])
    assert isinstance(truncated, fr.Undecodable)
    # Non-ASCII noise and missing padding are cleaned up before decoding (notes §1.4).
    clean = fr.encode_entry({"1": "55@goofish", "3": {"redReminder": "交易关闭"}})
    noisy = fr.decode_entry("\u200b" + clean.rstrip("="))
    assert isinstance(noisy, fr.Decoded)
    assert msg.classify([1, 2]) == msg.Skip("entry is a list, not a map", unknown=True)


# --- §7 events ----------------------------------------------------------------------------------
def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["decoded"]


def test_buyer_picture_becomes_a_valid_section_7_message_event() -> None:
    chat = msg.classify(_fixture("image"))
    assert isinstance(chat, msg.Chat)
    event = msg.chat_event(chat, account_id="1000000001", role="buyer")
    parsed = GatewayEvent.model_validate(event)
    assert parsed.event_id == "xianyu:1000000001:3601111111112.PNM"
    assert parsed.platform == "xianyu" and parsed.account_id == "1000000001"
    assert parsed.conversation_id == "55667788"
    assert parsed.sender.id == "2201234567" and parsed.sender.role == "buyer"
    assert parsed.message is not None and parsed.message.kind == "image"
    assert parsed.message.attachments[0].width == 1080


def test_payment_card_becomes_a_payment_event_keyed_by_order() -> None:
    card = msg.classify(_fixture("payment_card"))
    update = msg.classify(_fixture("card_update"))
    assert isinstance(card, msg.OrderCard) and isinstance(update, msg.OrderCard)
    facts = msg.OrderFacts("4012345678901234567", "2201234567", 3000, "paid")
    one = msg.order_event(card, facts, account_id="1000000001")
    two = msg.order_event(update, facts, account_id="1000000001")
    parsed = GatewayEvent.model_validate(one)
    assert parsed.kind == "payment"
    assert parsed.order is not None and parsed.order.amount_fen == 3000
    assert parsed.order.id == "4012345678901234567"
    assert one["event_id"] == two["event_id"]  # two cards of one payment: one event
    refund = msg.order_event(card, msg.OrderFacts("1", "2", None, "refunded"), account_id="a")
    assert refund["kind"] == "order_status" and refund["order"]["status"] == "refunded"
