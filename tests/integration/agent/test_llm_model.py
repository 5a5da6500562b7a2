"""With ``AICS_LLM_MODEL`` set the same agent and tools run on that model; errors fall back.

The "LLM" is an OpenAI-compatible chat-completions server on loopback, so the real
``OpenAIChatModel`` path runs without any outside network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agent_support import Chat, memory_json
from pydantic_ai.models import override_allow_model_requests

from ai_cs.agent.handler import AgentHandler
from ai_cs.config import Settings
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

LLM_TEXT = "（大模型）您目前还没有订单，发图片给我就能报价～"


class FakeLLM(BaseHTTPRequestHandler):
    """Chat completions: first a ``list_my_tasks`` call, then text; or HTTP 400 when told."""

    requests: list[dict[str, Any]] = []
    fail = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if type(self).fail:
            self._send(400, {"error": {"message": "bad request", "type": "invalid_request"}})
            return
        answered = any(m.get("role") == "tool" for m in body["messages"])
        message: dict[str, Any]
        if answered:
            message = {"role": "assistant", "content": LLM_TEXT}
        else:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "list_my_tasks", "arguments": "{}"},
                    }
                ],
            }
        self._send(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "stop" if answered else "tool_calls",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def llm_url() -> Iterator[str]:
    FakeLLM.requests = []
    FakeLLM.fail = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def llm_chat(workflow: Workflow, settings: Settings, url: str) -> Chat:
    configured = settings.model_copy(
        update={"llm_model": "fake-model", "llm_base_url": url, "llm_api_key": "test-key"}
    )
    return Chat(AgentHandler(workflow, settings=configured, ocr=StaticOcr()))


async def test_configured_model_runs_the_same_tools(
    fixed_workflow: Workflow, settings: Settings, llm_url: str
) -> None:
    chat = llm_chat(fixed_workflow, settings, llm_url)
    with override_allow_model_requests(True):
        reply = await chat.say("我的订单好了吗")
    assert reply == LLM_TEXT
    assert len(FakeLLM.requests) == 2
    first = FakeLLM.requests[0]
    offered = {tool["function"]["name"]: tool["function"] for tool in first["tools"]}
    assert "analyse_and_quote_picture" in offered and "hand_to_human" in offered
    assert "修图店" in first["messages"][0]["content"]  # the instructions
    for tool in offered.values():
        assert "customer_id" not in tool["parameters"].get("properties", {})
    tool_answer = next(m for m in FakeLLM.requests[1]["messages"] if m["role"] == "tool")
    assert json.loads(tool_answer["content"])["total"] == 0
    assert "list_my_tasks" in memory_json(fixed_workflow, "conv_123")


async def test_model_error_falls_back_to_the_offline_policy(
    fixed_workflow: Workflow, settings: Settings, llm_url: str
) -> None:
    FakeLLM.fail = True
    chat = llm_chat(fixed_workflow, settings, llm_url)
    with override_allow_model_requests(True):
        reply = await chat.say("抠图多少钱")
    assert len(FakeLLM.requests) == 1
    assert "抠图去背景 15/25/40 元" in reply  # the offline policy's price list


async def test_model_requests_switched_off_use_the_offline_policy(
    fixed_workflow: Workflow, settings: Settings, llm_url: str
) -> None:
    chat = llm_chat(fixed_workflow, settings, llm_url)
    reply = await chat.say("你好")
    assert FakeLLM.requests == []
    assert "欢迎光临" in reply
