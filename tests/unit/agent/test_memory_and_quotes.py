"""Trimming the agent's memory at turn boundaries; quotes recomputed from a task's facts."""

from __future__ import annotations

from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from ai_cs.conversations.service import trim_memory
from ai_cs.core.pricing import Complexity, QuoteFeatures, quote
from ai_cs.core.quoting import features_from_requirements, quote_json, reassess, requote
from ai_cs.core.risk import Decision
from ai_cs.core.tasks import Operation


def turn(i: int) -> list[ModelMessage]:
    return [
        ModelRequest(parts=[UserPromptPart(f"消息 {i}")]),
        ModelResponse(parts=[ToolCallPart("list_my_tasks", {}, tool_call_id=f"c{i}")]),
        ModelRequest(parts=[ToolReturnPart("list_my_tasks", {"total": i}, tool_call_id=f"c{i}")]),
        ModelResponse(parts=[TextPart(f"回复 {i}")]),
    ]


def test_trim_keeps_whole_recent_turns() -> None:
    history = [m for i in range(10) for m in turn(i)]
    kept = trim_memory(history, turns=3)
    assert kept == history[-12:]
    assert isinstance(kept[0], ModelRequest) and isinstance(kept[0].parts[0], UserPromptPart)
    assert trim_memory(history, turns=50) == history
    assert trim_memory([], turns=3) == []
    # A history that starts mid-turn (no prompt first) loses the orphaned tail end.
    assert trim_memory(history[2:], turns=50) == history[4:]


def test_memory_round_trips_as_json() -> None:
    history = [m for i in range(2) for m in turn(i)]
    again = ModelMessagesTypeAdapter.validate_json(ModelMessagesTypeAdapter.dump_json(history))
    assert [type(m) for m in again] == [type(m) for m in history]


REQ = {
    "complexity": "complex",
    "aspect_ratio": "4:3",
    "perspective": "yes",
    "width": 4000,
    "height": 3000,
    "text_found": True,
    "text_chars": 40,
    "text_area_ratio": 0.2,
    "text": "新店开业\n全场八折",
    "red_seal": False,
}


def test_features_come_from_the_stored_analysis() -> None:
    features = features_from_requirements(REQ)
    assert features == QuoteFeatures(
        complexity=Complexity.COMPLEX,
        text_chars=40,
        text_area_ratio=0.2,
        perspective=True,
        megapixels=12.0,
    )
    assert features_from_requirements({"complexity": "weird", "width": "x"}) == QuoteFeatures()
    assert features_from_requirements({"text_found": False, "text_chars": 99}).text_chars == 0


def test_requote_is_the_price_table() -> None:
    for op in Operation:
        assert requote(REQ, op) == quote(op, features_from_requirements(REQ))
    data = quote_json(requote(REQ, Operation.VECTORIZE))
    assert data["operation"] == "vectorize" and data["total_fen"] == sum(
        item["amount_fen"] for item in data["items"]
    )


def test_reassess_reads_the_stored_text() -> None:
    assert reassess(REQ, Operation.REMOVE_BG).decision is Decision.ACCEPT
    sealed = {**REQ, "text": "合同专用章"}
    assert reassess(sealed, Operation.REMOVE_BG).decision is Decision.REVIEW
