"""Reading a customer message: intents, the operation asked for, and slots (size, colour, deadline).

Pure functions over the tables in :mod:`ai_cs.agent.phrases`. Phrases are matched longest
first and each stretch of text counts once, so "不满意" is a revision request and not also
"满意", and "高清原图" is a find-image request and not also "高清".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from ai_cs.agent.phrases import (
    COLOUR_WORDS,
    DEADLINE_PATTERNS,
    DEADLINE_WORDS,
    INTENT_PHRASES,
    LEADING_FILLERS,
    MONEY_PATTERN,
    OPERATION_OF_INTENT,
    PICTURE_MARKER,
    SIZE_PATTERNS,
    TASK_ID_PATTERN,
    Intent,
)
from ai_cs.core.tasks import Operation

MAX_READ_CHARS: Final = 2000
_PUNCT_EDGE = re.compile(r"^[\s,，。.!！?？:：;；、~～…-]+|[\s,，。.!！?？:：;；、~～…-]+$")
_ASCII = re.compile(r"^[ -~]+$")


@dataclass(frozen=True)
class Reading:
    """What the policy understood from one customer message."""

    text: str
    intents: frozenset[Intent]
    operation: Operation | None
    slots: dict[str, str] = field(default_factory=dict)
    task_ids: tuple[str, ...] = ()
    pictures: int = 0
    money: bool = False

    def has(self, *intents: Intent) -> bool:
        """Whether any of ``intents`` was read."""
        return any(i in self.intents for i in intents)

    @property
    def note(self) -> str:
        """The message as a requirement note, openers like "对了，" removed."""
        return note_text(self.text)


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@lru_cache(maxsize=1)
def _phrase_matchers() -> tuple[tuple[re.Pattern[str], Intent], ...]:
    pairs = [(p, intent) for intent, phrases in INTENT_PHRASES.items() for p in phrases]
    pairs.sort(key=lambda item: len(item[0]), reverse=True)
    out = []
    for phrase, intent in pairs:
        escaped = re.escape(normalise(phrase))
        # ASCII words match whole words ("hi" is not in "this"); Chinese matches anywhere.
        pattern = rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if _ASCII.match(phrase) else escaped
        out.append((re.compile(pattern), intent))
    return tuple(out)


def split_picture_marker(text: str) -> tuple[str, int]:
    """The customer's words and how many pictures the handler said came with them."""
    lines = text.split("\n")
    pictures = 0
    kept = []
    for line in lines:
        match = re.fullmatch(rf"{re.escape(PICTURE_MARKER)} ×(\d+)\]", line.strip())
        if match:
            pictures += int(match.group(1))
        else:
            kept.append(line)
    return "\n".join(kept).strip(), pictures


def find_intents(text: str) -> frozenset[Intent]:
    """Intents whose phrases occur in ``text`` (longest phrase wins a stretch of text)."""
    work = normalise(text)
    found: set[Intent] = set()
    for pattern, intent in _phrase_matchers():
        if pattern.search(work):
            found.add(intent)
            # Blank the stretch so shorter phrases inside it do not count again.
            work = pattern.sub(lambda m: "\x00" * len(m.group(0)), work)
    return frozenset(found)


def operation_of(intents: frozenset[Intent]) -> Operation | None:
    """The operation the intents ask for, by the precedence of the table."""
    for intent, operation in OPERATION_OF_INTENT.items():
        if intent in intents:
            return operation
    return None


def find_slots(text: str) -> dict[str, str]:
    """``size``, ``colour`` and ``deadline`` when the message states them."""
    work = normalise(text)
    slots: dict[str, str] = {}
    for pattern in SIZE_PATTERNS:
        match = re.search(pattern, work)
        if match:
            groups = [g for g in match.groups() if g]
            if len(groups) == 3:
                slots["size"] = f"{groups[0]}×{groups[1]}{groups[2]}"
            elif len(groups) == 2:
                slots["size"] = f"{groups[0]}×{groups[1]}像素"
            else:
                slots["size"] = groups[0].upper()
            break
    for word in sorted(COLOUR_WORDS, key=len, reverse=True):
        if word in work:
            slots["colour"] = COLOUR_WORDS[word]
            break
    else:
        hex_colour = re.search(r"#[0-9a-f]{6}\b", work)
        if hex_colour:
            slots["colour"] = hex_colour.group(0)
    for pattern in DEADLINE_PATTERNS:
        match = re.search(pattern, work)
        if match:
            slots["deadline"] = match.group(0).replace(" ", "")
            break
    else:
        for word in DEADLINE_WORDS:
            if word in work:
                slots["deadline"] = word
                break
    return slots


def find_task_ids(text: str) -> tuple[str, ...]:
    """Task ids quoted in the message, upper-cased as stored."""
    ids: list[str] = []
    for match in re.finditer(TASK_ID_PATTERN, normalise(text)):
        task_id = match.group(0).upper()
        if task_id not in ids:
            ids.append(task_id)
    return tuple(ids)


def note_text(text: str) -> str:
    """The message as a note: picture marker and leading openers ("对了，") removed."""
    words, _ = split_picture_marker(text)
    note = _PUNCT_EDGE.sub("", words)
    changed = True
    while changed:
        changed = False
        for filler in LEADING_FILLERS:
            if note.lower().startswith(filler):
                note = _PUNCT_EDGE.sub("", note[len(filler) :])
                changed = True
    return note


def read_message(text: str) -> Reading:
    """Everything the offline policy needs to know about one message."""
    words, pictures = split_picture_marker(text[:MAX_READ_CHARS])
    intents = set(find_intents(words))
    money = re.search(MONEY_PATTERN, normalise(words)) is not None
    if money and Intent.CHANGE in intents:
        # "价格改成1元": a change request that names an amount is about the price.
        intents.add(Intent.PRICE_CHANGE)
    frozen = frozenset(intents)
    return Reading(
        text=words,
        intents=frozen,
        operation=operation_of(frozen),
        slots=find_slots(words),
        task_ids=find_task_ids(words),
        pictures=pictures,
        money=money,
    )
