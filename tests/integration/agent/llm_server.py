"""A scripted OpenAI-compatible chat-completions server (FastAPI on uvicorn, loopback).

Each request takes the next step of the script: tool calls, text, an HTTP error, or a delay.
A step may be a function of the request, so text can quote what the tools returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ai_cs.api.server import ThreadedServer

Step = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def calls(*pairs: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A step answering with these tool calls."""
    return {"tool_calls": list(pairs)}


def text(content: str) -> dict[str, Any]:
    """A step answering with text."""
    return {"text": content}


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results the agent sent back in this request, decoded."""
    out = []
    for message in body["messages"]:
        if message.get("role") == "tool":
            try:
                out.append(json.loads(message["content"]))
            except ValueError:
                out.append({"raw": message["content"]})
    return out


@dataclass
class ScriptedLLM:
    """The server's state: the script and every request received."""

    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            step: Step = self.script.pop(0) if self.script else text("好的～")
            if callable(step):
                step = step(body)
            if "delay" in step:
                await asyncio.sleep(step["delay"])
            if "status" in step:
                return JSONResponse({"error": {"message": "scripted failure"}}, step["status"])
            message: dict[str, Any] = {"role": "assistant", "content": step.get("text")}
            finish = "stop"
            if step.get("tool_calls"):
                message["tool_calls"] = [
                    {
                        "id": f"call_{len(self.requests)}_{i}",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                    for i, (name, args) in enumerate(step["tool_calls"])
                ]
                finish = "tool_calls"
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            )

        return app


@contextlib.contextmanager
def serve(llm: ScriptedLLM) -> Iterator[ScriptedLLM]:
    """Run ``llm`` on a free loopback port; ``llm.url`` is its ``/v1`` base URL."""
    with ThreadedServer(llm.app()) as server:
        llm.url = f"{server.url}/v1"
        yield llm
