"""The trained half of understanding: character n-grams and a linear model per intent.

Trained at first use from the labelled corpus shipped in the package (``data/corpus.jsonl``: the
phrasings and the training split's turns, never the held-out split) plus the phrase tables, in
well under a second; nothing is downloaded. Character n-grams (1–3) read Chinese without a word
segmenter and tolerate typos ("扣图", "矢亮图") and mixed English; one logistic regression per
intent lets a message carry several intents. The rules in :mod:`ai_cs.agent.understanding` keep
the last word on safety (forgery, payment claims, prompt injection); the model adds what the
tables miss.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from ai_cs.agent.phrases import INTENT_PHRASES, Intent
from ai_cs.core.text import normalise

if TYPE_CHECKING:
    from collections.abc import Sequence

LABELS: Final[dict[str, Intent]] = {
    "greeting": Intent.GREETING,
    "thanks": Intent.THANKS,
    "ack": Intent.ACK,
    "op_remove_bg": Intent.REMOVE_BG,
    "op_enhance": Intent.ENHANCE,
    "op_vectorize": Intent.VECTORIZE,
    "op_layered": Intent.LAYERED,
    "op_id_photo": Intent.ID_PHOTO,
    "op_resize": Intent.RESIZE,
    "format": Intent.FORMAT,
    "ask_price": Intent.ASK_PRICE,
    "bargain": Intent.PRICE_CHANGE,
    "ask_time": Intent.ASK_TIME,
    "ask_progress": Intent.ASK_PROGRESS,
    "confirm": Intent.CONFIRM,
    "revision": Intent.REVISION,
    "complaint": Intent.COMPLAINT,
    "refund": Intent.REFUND,
    "human": Intent.HUMAN,
    "capability": Intent.CAPABILITY,
    "batch": Intent.BATCH,
    "find_image": Intent.FIND_IMAGE,
    "change": Intent.CHANGE,
}
"""Corpus labels the model learns, and the intent each stands for."""

LEARNED: Final = frozenset(LABELS.values())
THRESHOLD: Final = 0.5
_lock = threading.Lock()


@dataclass(frozen=True)
class IntentModel:
    """A fitted vectoriser and one linear classifier per intent (weights as one matrix)."""

    vectoriser: Any
    weights: Any
    """``(features, intents)`` coefficients of the per-intent logistic regressions."""
    bias: Any
    intents: tuple[Intent, ...]

    def scores(self, text: str) -> dict[Intent, float]:
        """The probability of each learned intent for ``text``."""
        import numpy as np

        cleaned = normalise(text)
        if not cleaned:
            return {}
        # One sparse product instead of scikit-learn's per-estimator predict_proba (23 calls).
        logits = np.asarray(self.vectoriser.transform([cleaned]) @ self.weights).ravel() + self.bias
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        return {intent: float(p) for intent, p in zip(self.intents, probabilities, strict=True)}

    def predict(self, text: str, threshold: float = THRESHOLD) -> frozenset[Intent]:
        """The intents scoring at least ``threshold``."""
        return frozenset(i for i, p in self.scores(text).items() if p >= threshold)


def training_rows() -> list[tuple[str, frozenset[Intent]]]:
    """The labelled utterances the model learns from (no held-out conversation among them)."""
    from ai_cs.agent.corpus import load_corpus

    rows: list[tuple[str, frozenset[Intent]]] = []
    for row in load_corpus().training_rows():
        intents = frozenset(LABELS[label] for label in row.intents if label in LABELS)
        if row.text.strip():
            rows.append((row.text, intents))
    for intent, phrases in INTENT_PHRASES.items():
        if intent in LEARNED:
            rows.extend((phrase, frozenset({intent})) for phrase in phrases)
    return rows


def train(rows: Sequence[tuple[str, frozenset[Intent]]]) -> IntentModel:
    """Fit the model on ``rows`` (text, intents)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    intents = tuple(sorted({i for _, labels in rows for i in labels}, key=str))
    binarizer = MultiLabelBinarizer(classes=list(intents))
    targets = binarizer.fit_transform([sorted(labels, key=str) for _, labels in rows])
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    features = vectoriser.fit_transform([normalise(text) for text, _ in rows])
    classifier = OneVsRestClassifier(
        LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000)
    )
    classifier.fit(features, targets)
    import numpy as np

    weights = np.vstack([estimator.coef_[0] for estimator in classifier.estimators_]).T
    bias = np.array([estimator.intercept_[0] for estimator in classifier.estimators_])
    return IntentModel(vectoriser, weights, bias, intents)


@lru_cache(maxsize=1)
def _model() -> IntentModel:
    return train(training_rows())


def intent_model() -> IntentModel:
    """The model trained from the shipped corpus, once per process (thread-safe)."""
    with _lock:
        return _model()


def warm_up() -> None:
    """Train the model on a background thread.

    A long-lived process (the gateway, an interactive chat) then does not make its first
    customer wait for it (~2 s on a quiet machine).
    """
    if _model.cache_info().currsize:
        return
    threading.Thread(target=intent_model, name="intent-model-warm-up", daemon=True).start()
