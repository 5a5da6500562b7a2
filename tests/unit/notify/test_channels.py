"""Each channel's request: format, signature (recomputed here from the services' documented
recipes), and how its answer is read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ai_cs.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ai_cs.notify.channels import DingTalk, Feishu, NotifyFailed, Webhook, WeCom
from ai_cs.notify.events import NotifyKind
from ai_cs.notify.messages import plain, render

NOW = 1_772_186_400.5  # 2026-02-27 18:00:00.5 Shanghai


def notice(**payload: object):  # noqa: ANN201
    facts = {"task_id": "TASK_20260227_001", "customer": "小明", "price_fen": 6550}
    return render(7, NotifyKind.HANDED_TO_DESIGNER, {**facts, **payload}, "t", "https://s.cn/")


def test_dingtalk_signs_the_url_as_dingtalk_documents_it() -> None:
    secret = "SEC0123456789abcdef"
    request = DingTalk("https://oapi.dingtalk.com/robot/send?access_token=abc", secret).request(
        notice(), NOW
    )
    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == ["abc"]
    assert query["timestamp"] == ["1772186400500"]  # milliseconds
    string_to_sign = f"1772186400500\n{secret}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    body = json.loads(request.body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "【转设计师】订单 TASK_20260227_001"
    assert "- **金额**：65.50 元" in body["markdown"]["text"]
    assert "[打开控制台](https://s.cn/console/tasks/TASK_20260227_001)" in body["markdown"]["text"]


def test_dingtalk_without_a_secret_leaves_the_url_alone() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    assert DingTalk(url).request(notice(), NOW).url == url


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"errcode": 0, "errmsg": "ok"}, None),
        ({"errcode": 310000, "errmsg": "keywords not in content"}, "errcode 310000"),
        ({"errmsg": "ok"}, "errcode None"),
    ],
)
def test_dingtalk_reads_errcode_even_with_http_200(answer: dict, error: str | None) -> None:
    response = httpx.Response(200, json=answer)
    if error is None:
        DingTalk("u").check(response)
        return
    with pytest.raises(NotifyFailed, match=error):
        DingTalk("u").check(response)


def test_feishu_signs_the_body_as_feishu_documents_it() -> None:
    secret = "fs-secret"
    body = json.loads(Feishu("https://open.feishu.cn/x", secret).request(notice(), NOW).body)
    assert body["timestamp"] == "1772186400"  # seconds, a string
    key = f"1772186400\n{secret}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    with pytest.raises(NotifyFailed, match="code 19021"):
        Feishu("u").check(httpx.Response(200, json={"code": 19021, "msg": "sign match fail"}))
    Feishu("u").check(httpx.Response(200, json={"StatusCode": 0, "StatusMessage": "success"}))


def test_wecom_markdown_and_errcode() -> None:
    body = json.loads(WeCom("https://qyapi.weixin.qq.com/x?key=k").request(notice(), NOW).body)
    content = body["markdown"]["content"]
    assert content.startswith("### 【转设计师】订单 TASK_20260227_001\n> 客户：小明")
    with pytest.raises(NotifyFailed, match="errcode 93000"):
        WeCom("u").check(httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid"}))
    with pytest.raises(NotifyFailed, match="HTTP 502"):
        WeCom("u").check(httpx.Response(502, text="bad gateway"))


def test_webhook_is_signed_like_dispatch_callbacks() -> None:
    request = Webhook("https://hooks.example.com/a", "hook-secret").request(notice(), NOW)
    verify(
        b"hook-secret",
        request.headers[TIMESTAMP_HEADER],
        request.headers[SIGNATURE_HEADER],
        request.body,
        NOW,
    )
    body = json.loads(request.body)
    assert (body["event_id"], body["kind"]) == (7, "handed_to_designer")
    assert body["facts"] == {"客户": "小明", "金额": "65.50 元"}


def test_customer_text_cannot_add_links_or_headings() -> None:
    request = DingTalk("u").request(
        notice(customer="[点我](http://evil.example)", reason="# 标题\n> 引用 <b>x</b>"), NOW
    )
    text = json.loads(request.body)["markdown"]["text"]
    assert "](http://evil" not in text and "\n# " not in text and "<b>" not in text
    assert plain("a\n\n b") == "a b"
