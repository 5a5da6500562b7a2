"""Benchmark: the labelled buyer corpus played through the real agent (understanding quality).

Value: the share of held-out conversations meeting every expectation (orders with the right
operation and details, hand-offs, declines, replies that answer; see
:mod:`ai_cs.agent.evaluation`), and the share whose orders are right. Baseline, in the same run:
the same agent reading messages with the phrase tables alone (the trained intent model off).
``--quick`` plays two held-out conversations per category instead of the whole split.
"""

from __future__ import annotations

from ai_cs.bench import BenchResult


def run(quick: bool) -> list[BenchResult]:
    """Held-out accuracy with and without the trained model."""
    from pydantic_ai.models import override_allow_model_requests

    from ai_cs.agent.corpus import CorpusConversation, load_corpus
    from ai_cs.agent.evaluation import evaluate
    from ai_cs.agent.understanding import LEARNED
    from ai_cs.config import Settings

    held = load_corpus().split("heldout")
    chosen: list[CorpusConversation] = held
    if quick:
        seen: dict[str, int] = {}
        chosen = []
        for conv in held:
            if seen.get(conv.category, 0) < 2:
                seen[conv.category] = seen.get(conv.category, 0) + 1
                chosen.append(conv)
    settings = Settings(_env_file=None)
    with override_allow_model_requests(False):
        ours = evaluate(chosen, settings)
        token = LEARNED.set(False)
        try:
            rules = evaluate(chosen, settings)
        finally:
            LEARNED.reset(token)
    note = f"{len(chosen)} held-out conversations; baseline = phrase tables without the model"
    return [
        BenchResult(
            "conversations_heldout_pct",
            round(100 * ours.accuracy(), 1),
            "%",
            round(100 * rules.accuracy(), 1),
            round(ours.accuracy() / rules.accuracy(), 3) if rules.accuracy() else 0.0,
            note,
        ),
        BenchResult(
            "conversations_orders_pct",
            round(100 * ours.order_accuracy(), 1),
            "%",
            round(100 * rules.order_accuracy(), 1),
            round(ours.order_accuracy() / rules.order_accuracy(), 3)
            if rules.order_accuracy()
            else 0.0,
            note,
        ),
    ]
