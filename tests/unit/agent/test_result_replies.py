"""How the agent reads a customer's words about a delivered result (确认 / 重做 / neither).

The gateway has no classifier of its own: a chat turn confirms an order or sends it back to a
designer only through the agent's tools, so the agent's reading is what decides.
"""

from __future__ import annotations

import pytest

from ai_cs.agent.phrases import Intent
from ai_cs.agent.understanding import read_message

CONFIRMATIONS = ("确认", "收到了，很满意，谢谢", "可以了")
REVISION_REQUESTS = ("不满意，边缘有白边", "能重做一下吗", "颜色再改深一点")


@pytest.mark.parametrize(
    ("text", "expected", "other"),
    [(text, Intent.CONFIRM, Intent.REVISION) for text in CONFIRMATIONS]
    + [(text, Intent.REVISION, Intent.CONFIRM) for text in REVISION_REQUESTS],
)
def test_a_confirmation_or_a_revision_request_is_read_as_such(
    text: str, expected: Intent, other: Intent
) -> None:
    intents = read_message(text).intents
    assert expected in intents
    assert other not in intents  # "不满意" is not also "满意"


@pytest.mark.parametrize("text", ["收到了吗？", "还没收到", "什么时候好", "look at the token", ""])
def test_questions_and_other_words_neither_confirm_nor_ask_for_a_revision(text: str) -> None:
    intents = read_message(text).intents
    assert Intent.CONFIRM not in intents
    assert Intent.REVISION not in intents
