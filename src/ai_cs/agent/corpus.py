"""The labelled buyer corpus shipped with the package (``ai_cs/agent/data/corpus.jsonl``).

Conversations with expectations (a ``train`` and a ``heldout`` split) and labelled phrasings;
``scripts/build_corpus.py`` writes the file. The intent model trains on :meth:`Corpus.training_rows`
(never the held-out split); :mod:`ai_cs.agent.evaluation` plays the conversations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from pydantic import BaseModel, Field

CORPUS_FILE: Final = "corpus.jsonl"


class Turn(BaseModel):
    """One step of a conversation: the customer's words and pictures, or a platform event."""

    say: str | None = None
    pictures: int = 0
    intents: list[str] = Field(default_factory=list)
    expect: dict[str, Any] = Field(default_factory=dict)
    event: str | None = None


class CorpusConversation(BaseModel):
    """A labelled conversation with its expectations."""

    id: str
    split: str
    category: str
    turns: list[Turn]
    expect: dict[str, Any] = Field(default_factory=dict)


class Phrasing(BaseModel):
    """A labelled buyer phrasing (training rows for the understanding model)."""

    text: str
    intents: list[str]


@dataclass(frozen=True)
class Corpus:
    """The corpus file, parsed."""

    conversations: tuple[CorpusConversation, ...]
    phrasings: tuple[Phrasing, ...]

    def split(self, name: str) -> list[CorpusConversation]:
        """The conversations of one split (``train`` or ``heldout``)."""
        return [c for c in self.conversations if c.split == name]

    def training_rows(self) -> list[Phrasing]:
        """Every labelled training utterance: the phrasings and the train split's turns."""
        rows = list(self.phrasings)
        for conv in self.split("train"):
            rows.extend(
                Phrasing(text=t.say, intents=t.intents) for t in conv.turns if t.say and t.say
            )
        return rows


@lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """The corpus shipped with the package (``ai_cs/agent/data/corpus.jsonl``)."""
    text = resources.files("ai_cs.agent").joinpath("data", CORPUS_FILE).read_text("utf-8")
    convs: list[CorpusConversation] = []
    phrasings: list[Phrasing] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "phrasing" in row:
            phrasings.append(Phrasing.model_validate(row["phrasing"]))
        else:
            convs.append(CorpusConversation.model_validate(row))
    return Corpus(tuple(convs), tuple(phrasings))
