"""Order requirements: what ``--require`` and the chat store, parsed and validated."""

from __future__ import annotations

import pytest

from ai_cs.core.requirements import COLOURS, Requirements, output_from_detail
from ai_cs.errors import InvalidArgument


def test_pairs_as_the_contract_writes_them() -> None:
    req = Requirements.parse_pairs(
        ["background=blue", "size=413x579", "max_kb=50", "min_kb=20", "format=JPEG", "fit=pad"]
    )
    assert req.rgb() == COLOURS["blue"]
    assert req.size == (413, 579) and req.fit == "pad" and req.format == "jpg"
    assert req.size_range_bytes() == (20 * 1024, 50 * 1024)
    assert req.to_json() == {
        "background": "blue",
        "size": "413x579",
        "max_kb": 50,
        "min_kb": 20,
        "format": "jpg",
        "fit": "pad",
    }
    assert Requirements.of(req.to_json()) == req


@pytest.mark.parametrize(
    ("value", "rgb"),
    [
        ("white", (255, 255, 255)),
        ("#FF8800", (255, 136, 0)),
        ("ff8800", (255, 136, 0)),
        ("白底", (255, 255, 255)),
        ("蓝底", COLOURS["blue"]),
        ("transparent", None),
        ("透明", None),
    ],
)
def test_background_colours(value: str, rgb: tuple[int, int, int] | None) -> None:
    assert Requirements.parse_pairs([f"background={value}"]).rgb() == rgb


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("800x800", (800, 800)),
        ("800*600", (800, 600)),
        ("800×600px", (800, 600)),
        ("1寸", (295, 413)),
        ("2寸", (413, 579)),
        ("小二寸", (413, 531)),
    ],
)
def test_sizes(value: str, size: tuple[int, int]) -> None:
    assert Requirements.parse_pairs([f"size={value}"]).size == size


@pytest.mark.parametrize(
    "pair",
    [
        "size=abc",
        "size=0x10",
        "size=20000x10",
        "background=purple-ish",
        "max_kb=0",
        "format=gif",
        "fit=squash",
        "colour=white",
        "size",
        "=3",
    ],
)
def test_bad_pairs_are_refused_with_a_clear_error(pair: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        Requirements.parse_pairs([pair])
    assert info.value.code == "invalid_argument" and info.value.message


def test_an_inverted_range_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="min_kb"):
        Requirements.parse_pairs(["min_kb=60", "max_kb=50"])


def test_from_task_keeps_what_validates() -> None:
    stored = {"complexity": "simple", "output": {"size": "800x800", "background": "nonsense"}}
    req = Requirements.from_task(stored)
    assert req.size == (800, 800) and req.background is None
    assert Requirements.from_task(None).is_empty
    assert Requirements.from_task({"output": "garbage"}).is_empty


@pytest.mark.parametrize(
    ("key", "value", "output"),
    [
        ("size", "800×800像素", {"size": "800x800"}),
        ("size", "1寸", {"size": "295x413"}),
        ("size", "A4", {}),
        ("colour", "白色背景", {"background": "white"}),
        ("colour", "蓝色背景", {"background": "blue"}),
        ("colour", "透明背景", {"background": "transparent"}),
        ("colour", "黑色", {}),
        ("deadline", "今天", {}),
        ("max_kb", "50", {"max_kb": 50}),
    ],
)
def test_chat_details_become_structured_requirements(
    key: str, value: str, output: dict[str, object]
) -> None:
    assert output_from_detail(key, value) == output
