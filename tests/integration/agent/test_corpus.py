"""The labelled buyer corpus played through the real agent (real database, generated pictures).

The bounded suite plays one held-out conversation per category; the whole held-out split runs
with ``-m slow`` and in ``aics bench`` (``conversations_heldout_pct``).
"""

from __future__ import annotations

import pytest
from pydantic_ai.models import override_allow_model_requests

from ai_cs.agent.corpus import CorpusConversation, load_corpus
from ai_cs.agent.evaluation import evaluate_async
from ai_cs.config import Settings

pytestmark = pytest.mark.anyio


def subset(per_category: int) -> list[CorpusConversation]:
    picked: dict[str, list[CorpusConversation]] = {}
    for conv in load_corpus().split("heldout"):
        picked.setdefault(conv.category, [])
        if len(picked[conv.category]) < per_category:
            picked[conv.category].append(conv)
    return [c for group in picked.values() for c in group]


async def test_held_out_conversations_meet_every_expectation(settings: Settings) -> None:
    # SQLite only: the conversations' database rules run on PostgreSQL in the other agent tests,
    # and the bounded suite should not pay for the corpus twice.
    chosen = subset(1)
    assert len({c.category for c in chosen}) >= 20
    with override_allow_model_requests(False):
        report = await evaluate_async(chosen, settings)
    assert report.accuracy() >= 0.9, "\n".join(report.failures())


@pytest.mark.slow
async def test_the_whole_held_out_split(settings: Settings) -> None:
    with override_allow_model_requests(False):
        report = await evaluate_async(load_corpus().split("heldout"), settings)
    assert report.accuracy() >= 0.9, report.table() + "\n" + "\n".join(report.failures())


async def test_the_evaluation_catches_a_wrong_outcome(settings: Settings) -> None:
    # The checks themselves can fail: a conversation expecting the wrong job is reported.
    conv = next(c for c in load_corpus().split("heldout") if c.category == "op_before_picture")
    right = conv.expect["orders"][0]["operation"]
    other = "enhance" if right != "enhance" else "vectorize"
    wrong = conv.model_copy(update={"expect": {"orders": [{"operation": other}]}})
    with override_allow_model_requests(False):
        report = await evaluate_async([wrong], settings)
    assert not report.results[0].passed
    assert any("expected" in failure for failure in report.results[0].failures)
