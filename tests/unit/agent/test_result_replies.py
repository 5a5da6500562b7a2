"""How the agent reads a customer's words about a delivered result (确认 / 重做 / neither).

The gateway has no classifier of its own: a chat turn confirms an order or sends it back to a
designer only through the agent's tools, so the agent's reading is what decides.
"""

from __future__ import annotations

import pytest

from ai_cs.agent.phrases import Intent
from ai_cs.agent.understanding import read_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("确认", Intent.CONFIRM),
        ("收到了，很满意，谢谢", Intent.CONFIRM),
        ("可以了", Intent.CONFIRM),
        ("不满意，边缘有白边", Intent.REVISION),
        ("能重做一下吗", Intent.REVISION),
        ("颜色再改深一点", Intent.REVISION),
    ],
)
def test_a_confirmation_or_a_revision_request_is_read_as_such(text: str, expected: Intent) -> None:
    intents = read_message(text).intents
    assert expected in intents
    other = Intent.REVISION if expected is Intent.CONFIRM else Intent.CONFIRM
    assert other not in intents  # "不满意" is not also "满意"


@pytest.mark.parametrize("text", ["收到了吗？", "还没收到", "什么时候好", "look at the token", ""])
def test_questions_and_other_words_neither_confirm_nor_ask_for_a_revision(text: str) -> None:
    intents = read_message(text).intents
    assert Intent.CONFIRM not in intents
    assert Intent.REVISION not in intents
