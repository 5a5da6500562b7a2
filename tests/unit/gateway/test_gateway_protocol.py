"""The gateway protocol (CONTRACT §7), result-reply intents and reconnect backoff: no I/O."""

from __future__ import annotations

import json

import pytest

from ai_cs.gateway.client import backoff_delay
from ai_cs.marketplace import protocol
from ai_cs.marketplace.service import retry_delay

EVENT = {
    "event_id": "e-1",
    "kind": "message",
    "platform": "xianyu",
    "account_id": "shop-1",
    "conversation_id": "c-1",
    "sender": {"id": "buyer-1", "nick": "小王", "role": "buyer"},
    "message": {
        "kind": "image",
        "text": "帮我抠图",
        "attachments": [{"url": "https://img.example/p.png", "width": 800, "height": 600}],
    },
    "occurred_at": "2026-02-27T18:00:00+08:00",
}


def frame(event: object) -> str:
    return json.dumps({"type": "event", "event": event}, ensure_ascii=False)


def test_an_event_frame_is_parsed_with_every_field_of_the_contract() -> None:
    parsed = protocol.parse_frame(frame(EVENT))
    assert isinstance(parsed, protocol.ReceivedEvent) and parsed.event is not None
    ev = parsed.event
    assert (ev.event_id, ev.kind, ev.platform, ev.account_id) == (
        "e-1",
        "message",
        "xianyu",
        "shop-1",
    )
    assert (ev.sender.id, ev.sender.nick, ev.sender.role) == ("buyer-1", "小王", "buyer")
    assert ev.message is not None and ev.message.kind == "image"
    assert ev.message.attachments[0].width == 800
    assert parsed.raw == EVENT


def test_a_payment_event_carries_the_order_in_fen() -> None:
    payment = {**EVENT, "kind": "payment", "message": None}
    payment["order"] = {"id": "o-1", "amount_fen": 6000, "status": "paid"}
    parsed = protocol.parse_frame(frame(payment))
    assert isinstance(parsed, protocol.ReceivedEvent) and parsed.event is not None
    assert parsed.event.order is not None and parsed.event.order.amount_fen == 6000


@pytest.mark.parametrize(
    "broken",
    [
        {**EVENT, "kind": "telepathy"},
        {**EVENT, "sender": {"id": "", "role": "buyer"}},
        {**EVENT, "sender": {"id": "x", "role": "admin"}},
        {k: v for k, v in EVENT.items() if k != "conversation_id"},
        {**EVENT, "order": {"id": "o", "amount_fen": -5}},
    ],
)
def test_an_event_with_an_id_but_a_bad_body_is_kept_with_the_reason(broken: dict) -> None:
    parsed = protocol.parse_frame(frame(broken))
    assert isinstance(parsed, protocol.ReceivedEvent)
    assert parsed.event is None and parsed.event_id == "e-1" and parsed.error


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "hello"}),
        json.dumps({"type": "event", "event": "x"}),
        frame({**EVENT, "event_id": ""}),
        frame({**EVENT, "event_id": 42}),
        frame({**EVENT, "event_id": " padded "}),
        json.dumps({"type": "sent"}),
        b"\xff\xfe",
    ],
)
def test_frames_without_anything_to_ack_are_ignored(data: str | bytes) -> None:
    assert isinstance(protocol.parse_frame(data), protocol.Ignored)


def test_sent_receipts_and_outgoing_frames_follow_the_contract() -> None:
    sent = protocol.parse_frame('{"type": "sent", "command_id": "cmd-1"}')
    assert sent == protocol.SentReceipt("cmd-1")
    assert json.loads(protocol.ack_frame("e-1")) == {"type": "ack", "event_id": "e-1"}
    sent = json.loads(
        protocol.send_frame(
            command_id="cmd-1",
            account_id="shop-1",
            conversation_id="c-1",
            to="buyer-1",
            message=protocol.wire_message("您好"),
        )
    )
    assert sent == {
        "type": "send",
        "command_id": "cmd-1",
        "account_id": "shop-1",
        "conversation_id": "c-1",
        "to": "buyer-1",
        "message": {"kind": "text", "text": "您好", "attachments": []},
    }
    with pytest.raises(ValueError):
        protocol.wire_message("x", kind="video")


def test_reconnect_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    low = [backoff_delay(n, rng=lambda: 0.0) for n in range(10)]
    high = [backoff_delay(n, rng=lambda: 1.0) for n in range(10)]
    assert low[:4] == [0.25, 0.5, 1.0, 2.0]
    assert high[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(high) == 30.0 and low[-1] == 15.0  # capped, and never below half the cap
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))


def test_unanswered_sends_are_retried_later_and_later_up_to_a_minute() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4, 5, 9)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def _payment(amount: object) -> str:
    return json.dumps(
        {
            "type": "event",
            "event": {
                "event_id": "pay-1",
                "kind": "payment",
                "platform": "xianyu",
                "account_id": "shop-1",
                "conversation_id": "c-1",
                "sender": {"id": "b-1", "role": "buyer"},
                "order": {"id": "o-1", "amount_fen": amount},
                "occurred_at": "2026-12-01T10:00:00+08:00",
            },
        }
    )


def test_amounts_are_integers_within_bounds() -> None:
    ok = protocol.parse_frame(_payment(3000))
    assert isinstance(ok, protocol.ReceivedEvent) and ok.event is not None
    assert ok.event.order is not None and ok.event.order.amount_fen == 3000
    for bad in (2**63, -1, "3000", 30.5, True, 10_000_001):
        frame = protocol.parse_frame(_payment(bad))
        assert isinstance(frame, protocol.ReceivedEvent), bad
        assert frame.event is None and frame.error and "amount_fen" in frame.error, bad


def test_a_frame_nested_too_deeply_is_set_aside_not_raised() -> None:
    nested = "[" * 200_000 + "]" * 200_000
    with_id = '{"type": "event", "event": {"event_id": "deep-1", "x": ' + nested + "}}"
    frame = protocol.parse_frame(with_id)
    assert isinstance(frame, protocol.ReceivedEvent)
    assert frame.event_id == "deep-1" and frame.event is None
    assert frame.error == "nested too deeply to read"
    assert isinstance(protocol.parse_frame(nested), protocol.Ignored)
