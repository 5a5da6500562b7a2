"""Reading a customer message: intents, the operations asked for, and the order's details.

Two readers, merged. The phrase tables of :mod:`ai_cs.agent.phrases` (matched longest first,
each stretch of text counted once, so "不满意" is a revision request and not also "满意") give
precise, explainable intents; the trained model of :mod:`ai_cs.agent.intent_model` adds the
ones the tables miss (typos, new wording, English). Safety-relevant intents — payment claims,
price changes written as instructions, prompt injection — come from the tables only, and the
decision to decline a forgery comes from the risk table (:mod:`ai_cs.core.risk`), never from
the model.

Details (:class:`Details`) are patterns: the background colour, the pixel size (``800*800``,
``1寸``), a print size in cm/寸 with DPI, the output format (CDR noted apart: the shop cannot
write it), file-size limits, the deadline and urgency, the quantity, and which pictures a
message points at ("这张", "两张都", "第二张").
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, NamedTuple

from ai_cs.agent.phrases import (
    BACKGROUND_COLOURS,
    BACKGROUND_PATTERNS,
    CDR_PATTERN,
    CHINESE_DIGITS,
    DEADLINE_PATTERNS,
    DEADLINE_WORDS,
    DPI_PATTERN,
    FORMAT_WORDS,
    HEX_BACKGROUND,
    INTENT_PHRASES,
    KB_AMOUNT_PATTERN,
    KB_MAX_AFTER,
    KB_MAX_CUES,
    KB_MIN_CUES,
    KB_NOT_OVER_PATTERN,
    KB_RANGE_PATTERN,
    LEADING_FILLERS,
    MONEY_PATTERN,
    OPERATION_OF_INTENT,
    PAPER_PATTERN,
    PHOTO_INCH_PATTERN,
    PICTURE_DECLINED,
    PICTURE_MARKER,
    PICTURE_REFERENCES,
    PIXEL_SIZE_PATTERN,
    PRICE_OFFER_PATTERN,
    PRINT_INCH_PATTERN,
    PRINT_SIZE_PATTERN,
    QUANTITY_PATTERN,
    SMALLEST_PIXELS,
    TASK_ID_PATTERN,
    URGENT_WORDS,
    WIDTH_HEIGHT_PATTERN,
    Intent,
)
from ai_cs.core.requirements import PHOTO_SIZES
from ai_cs.core.tasks import Operation
from ai_cs.core.text import normalise

MAX_READ_CHARS: Final = 2000
_PUNCT_EDGE = re.compile(r"^[\s,，。.!！?？:：;；、~～…-]+|[\s,，。.!！?？:：;；、~～…-]+$")
_ASCII = re.compile(r"^[ -~]+$")
LEARNED: ContextVar[bool] = ContextVar("aics_learned_intents", default=True)
"""Whether :func:`read_message` consults the trained model (benchmarks compare without it)."""
RULE_ONLY: Final = frozenset(
    {Intent.PAID_CLAIM, Intent.INJECTION, Intent.ADD_DETAIL, Intent.CHANGE, Intent.FIND_IMAGE}
)
"""Intents the model may not add on its own: claims and instructions are read by the tables."""


@dataclass(frozen=True)
class Details:
    """What the buyer asked the result to be, as requirement keys and values.

    ``values`` holds keys the order stores (``background``, ``size``, ``format``, ``max_kb``,
    ``min_kb``, ``print``, ``dpi``, ``deadline``, ``quantity``); ``cdr`` marks a request for
    CorelDRAW's format, answered honestly instead of stored.
    """

    values: dict[str, str] = field(default_factory=dict)
    cdr: bool = False
    urgent: bool = False
    quantity: int | None = None
    pictures: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True)
class Reading:
    """What the policy understood from one customer message."""

    text: str
    intents: frozenset[Intent]
    operation: Operation | None
    details: Details = field(default_factory=Details)
    task_ids: tuple[str, ...] = ()
    pictures: int = 0
    money: bool = False
    operations: tuple[Operation, ...] = ()
    per_picture: dict[int, Operation] = field(default_factory=dict)
    declined: tuple[int, ...] = ()
    """Numbered pictures the customer turned down ("第二张不用了")."""

    def has(self, *intents: Intent) -> bool:
        """Whether any of ``intents`` was read."""
        return any(i in self.intents for i in intents)

    def cancels(self, picture: int | None) -> bool:
        """Whether a cancel in this message is about the order of ``picture``.

        "第二张不用了" is about the second picture's order only; "先不做了" about every order.
        """
        return self.has(Intent.CANCEL) and (not self.declined or picture in self.declined)

    @property
    def note(self) -> str:
        """The message as a requirement note, openers like "对了，" removed."""
        return note_text(self.text)

    @property
    def slots(self) -> dict[str, str]:
        """The details as requirement keys and values."""
        return self.details.values


@lru_cache(maxsize=1)
def _phrase_matchers() -> tuple[tuple[re.Pattern[str], frozenset[Intent]], ...]:
    by_phrase: dict[str, set[Intent]] = {}
    for intent, phrases in INTENT_PHRASES.items():
        for phrase in phrases:
            by_phrase.setdefault(normalise(phrase), set()).add(intent)
    out = []
    for phrase in sorted(by_phrase, key=len, reverse=True):
        escaped = re.escape(phrase)
        # ASCII words match whole words ("hi" is not in "this"); Chinese matches anywhere.
        pattern = rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if _ASCII.match(phrase) else escaped
        out.append((re.compile(pattern), frozenset(by_phrase[phrase])))
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


def _phrase_hits(text: str) -> list[tuple[int, int, frozenset[Intent]]]:
    """Where each phrase stands in the normalised ``text`` (longest phrase wins its stretch)."""
    work = normalise(text)
    hits: list[tuple[int, int, frozenset[Intent]]] = []
    for pattern, intents in _phrase_matchers():
        matches = list(pattern.finditer(work))
        if matches:
            hits.extend((match.start(), match.end(), intents) for match in matches)
            # Blank the stretch so shorter phrases inside it do not count again.
            work = pattern.sub(lambda m: "\x00" * len(m.group(0)), work)
    return hits


def find_intents(text: str) -> frozenset[Intent]:
    """Intents whose phrases occur in ``text`` (longest phrase wins a stretch of text)."""
    return frozenset(intent for _, _, intents in _phrase_hits(text) for intent in intents)


_UNCHANGED = ("不变", "别变", "不要变", "保持不变", "不动")
_NEGATED = re.compile(r"(?:不用|不要|不需要|不想|不必|不做|无需|没必要|别|不)(?:再|做|弄|去|用)?$")


def negated_operations(text: str) -> frozenset[Intent]:
    """Jobs the customer names only to turn them down: "不要矢量了，抠图就行" drops 矢量.

    A job phrase right after 不用/不要/不做/别/不 … is a refusal, unless it is an A-not-A
    question ("要不要抠图", "可不可以抠"). A job named once plainly is not dropped.
    """
    work = normalise(text)
    plain: set[Intent] = set()
    refused: set[Intent] = set()
    for start, end, intents in _phrase_hits(text):
        jobs = intents & OPERATION_OF_INTENT.keys()
        before = work[max(0, start - 4) : start]
        negation = _NEGATED.search(before)
        asked = negation is not None and _is_a_not_a(work, start - len(negation.group(0)))
        kept = work[end : end + 4].startswith(_UNCHANGED)  # "分辨率不变": keep it as it is
        (refused if (negation and not asked) or kept else plain).update(jobs)
    return frozenset(refused - plain)


def _is_a_not_a(work: str, at: int) -> bool:
    """Whether the 不 at ``at`` sits in a question like 要不要 / 可不可以 / 用不用."""
    return 0 < at < len(work) - 1 and work[at] == "不" and work[at - 1] == work[at + 1]


def operation_of(intents: frozenset[Intent]) -> Operation | None:
    """The operation the intents ask for, by the precedence of the table."""
    for intent, operation in OPERATION_OF_INTENT.items():
        if intent in intents:
            return operation
    return None


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for char in text:
        value = CHINESE_DIGITS.get(char)
        if value is None:
            return None
        if value >= 10:
            total += (current or 1) * value
            current = 0
        else:
            current = value
    return total + current or None


def _kb(amount: str, unit: str) -> int:
    value = float(amount)
    return int(value * 1024) if unit.startswith(("m", "兆")) else int(value)


def _background(work: str) -> str | None:
    for pattern in BACKGROUND_PATTERNS:
        match = re.search(pattern, work)
        if match:
            return BACKGROUND_COLOURS[match.group(1)]
    hex_colour = re.search(HEX_BACKGROUND, work)
    return f"#{hex_colour.group(1)}" if hex_colour else None


def _file_size(work: str, values: dict[str, str]) -> None:
    ranged = re.search(KB_RANGE_PATTERN, work)
    if ranged:
        unit = ranged.group(3)
        values["min_kb"] = str(_kb(ranged.group(1), unit))
        values["max_kb"] = str(_kb(ranged.group(2), unit))
        return
    previous = 0
    for match in re.finditer(KB_AMOUNT_PATTERN, work):
        # Only the words since the previous amount count: "大于20k小于50k" is two bounds.
        before = work[max(previous, match.start() - 6) : match.start()]
        after = work[match.end() : match.end() + 4]
        previous = match.end()
        amount = str(_kb(match.group(1), match.group(2)))
        if re.search(KB_NOT_OVER_PATTERN, before):
            values["max_kb"] = amount
        elif after.startswith("以上") or any(cue in before for cue in KB_MIN_CUES):
            values["min_kb"] = amount
        elif (
            any(cue in before for cue in KB_MAX_CUES)
            or after.startswith(KB_MAX_AFTER)
            or "压缩" in work
        ):
            values["max_kb"] = amount


def _sizes(work: str, values: dict[str, str]) -> None:
    printed = re.search(PRINT_SIZE_PATTERN, work)
    if printed:
        unit = "mm" if printed.group(3) in ("mm", "毫米") else "cm"
        values["print"] = f"{printed.group(1)}x{printed.group(2)}{unit}"
    pixels = re.search(PIXEL_SIZE_PATTERN, work) or re.search(WIDTH_HEIGHT_PATTERN, work)
    width, height = (int(pixels.group(1)), int(pixels.group(2))) if pixels else (0, 0)
    if pixels and max(width, height) < SMALLEST_PIXELS and "像素" not in work:
        values.setdefault("print", f"{width}x{height}mm")
    elif pixels:
        values["size"] = f"{width}x{height}"
    else:
        photo = re.search(PHOTO_INCH_PATTERN, work)
        if photo:
            name = photo.group(1).replace("1", "一").replace("2", "二").replace("两", "二") + "寸"
            width, height = PHOTO_SIZES[name]
            values["size"] = f"{width}x{height}"
    if "print" not in values:
        inch = re.search(PRINT_INCH_PATTERN, work)
        paper = re.search(PAPER_PATTERN, work)
        if inch and not re.search(PHOTO_INCH_PATTERN, work):
            values["print"] = f"{_number(inch.group(1))}寸"
        elif paper:
            values["print"] = paper.group(1).upper()
    dpi = re.search(DPI_PATTERN, work)
    if dpi:
        values["dpi"] = dpi.group(1)


def find_details(text: str) -> Details:
    """Background, sizes, format, file size, deadline, quantity and picture references."""
    work = normalise(text)
    values: dict[str, str] = {}
    background = _background(work)
    if background:
        values["background"] = background
    _sizes(work, values)
    named: list[tuple[int, str]] = []
    for word, fmt in sorted(FORMAT_WORDS.items(), key=lambda item: -len(item[0])):
        named.extend(
            (found.start(), fmt)
            for found in re.finditer(rf"(?<![a-z]){re.escape(word)}(?![a-z])", work)
        )
    formats = list(dict.fromkeys(fmt for _, fmt in sorted(named)))
    if formats:
        # Several named ("svg和pdf都要"): the engines deliver one file per format.
        values["format"] = ",".join(formats)
    _file_size(work, values)
    for pattern in DEADLINE_PATTERNS:
        match = re.search(pattern, work)
        if match:
            values["deadline"] = match.group(0).replace(" ", "")
            break
    else:
        for word in DEADLINE_WORDS:
            if word in work:
                values["deadline"] = word
                break
    quantity = None
    for match in re.finditer(QUANTITY_PATTERN, work):
        number = _number(match.group(1))
        if number is not None and number > 2:
            quantity = number
            values["quantity"] = str(number)
    references = tuple(
        dict.fromkeys(ref for phrase, ref in PICTURE_REFERENCES.items() if phrase in work)
    )
    return Details(
        values=values,
        cdr=re.search(CDR_PATTERN, work) is not None,
        urgent=any(word in work for word in URGENT_WORDS),
        quantity=quantity,
        pictures=references,
    )


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


def _learned(words: str) -> frozenset[Intent]:
    from ai_cs.agent.intent_model import intent_model

    return intent_model().predict(words)


class PictureChoices(NamedTuple):
    """What a message says of its numbered pictures."""

    operations: dict[int, Operation]
    """Each one's job: "第一张抠图，第二张变清晰"."""
    declined: tuple[int, ...]
    """Those turned down: "第二张不用了"."""


def _per_picture(words: str, learned: bool) -> PictureChoices:
    """Each numbered picture's operation, and the pictures turned down."""
    work = normalise(words)
    marks = [
        (m.start(), int(m.group(1)) if m.group(1).isdigit() else _number(m.group(1)) or 0)
        for m in re.finditer(r"第\s*([1-9一二三四五六七八九])\s*张", work)
    ]
    out: dict[int, Operation] = {}
    declined: list[int] = []
    for index, (start, number) in enumerate(marks):
        end = marks[index + 1][0] if index + 1 < len(marks) else len(work)
        segment = work[start:end]
        if any(word in segment for word in PICTURE_DECLINED):
            declined += [number] if number > 0 else []
            continue
        refused = negated_operations(segment)
        operation = operation_of(find_intents(segment) - refused)
        if operation is None and learned:
            operation = operation_of(_learned(segment) - refused)
        if operation is not None and number > 0:
            out[number] = operation
    return PictureChoices(out, tuple(declined))


def read_message(text: str, *, learned: bool | None = None) -> Reading:
    """Everything the offline policy needs to know about one message.

    ``learned=False`` reads with the phrase tables alone (no model); by default the model is
    used unless :data:`LEARNED` is switched off.
    """
    return _read(text, LEARNED.get() if learned is None else learned)


@lru_cache(maxsize=512)
def _read(text: str, learned: bool) -> Reading:
    """:func:`read_message`, cached: the policy reads the same turn at every step."""
    words, pictures = split_picture_marker(text[:MAX_READ_CHARS])
    refused = negated_operations(words)
    choices = _per_picture(words, learned)
    ruled = set(find_intents(words)) - refused | ({Intent.CANCEL} if choices.declined else set())
    intents = set(ruled)
    if learned and words.strip():
        # A cancel names no job to do: the model's guess of one is not added to it.
        cancel = Intent.CANCEL in ruled
        unlearned = RULE_ONLY | refused | (OPERATION_OF_INTENT.keys() if cancel else set())
        intents |= {i for i in _learned(words) if i not in unlearned}
    offer = re.search(PRICE_OFFER_PATTERN, normalise(words)) is not None
    money = offer or re.search(MONEY_PATTERN, normalise(words)) is not None
    if offer or (money and (Intent.CHANGE in intents or Intent.CAPABILITY in intents)):
        # "价格改成1元", "20块行不行": a change or a question that names an amount is about price.
        intents.add(Intent.PRICE_CHANGE)
    frozen = frozenset(intents)
    ops = tuple(op for intent, op in OPERATION_OF_INTENT.items() if intent in frozen)
    rule_op = operation_of(frozenset(ruled))
    return Reading(
        text=words,
        intents=frozen,
        operation=rule_op or operation_of(frozen),
        details=find_details(words),
        task_ids=find_task_ids(words),
        pictures=pictures,
        money=money,
        operations=ops,
        per_picture=choices.operations,
        declined=choices.declined,
    )
