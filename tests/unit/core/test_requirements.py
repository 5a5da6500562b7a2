"""Order requirements: what ``--require`` and the chat store, parsed and validated."""

from __future__ import annotations

import pytest

from ai_cs.core.requirements import COLOURS, Requirements, merge_output, output_from_detail
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
        ("size", "A4", {"print": "A4"}),
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


# --- print sizes, DPI, JPEG quality, several formats -----------------------------------------
@pytest.mark.parametrize(
    ("value", "dpi", "picture", "pixels"),
    [
        ("5寸", 300, (3000, 4000), (1051, 1500)),  # 3.5×5 in
        ("五寸", 300, (4000, 3000), (1500, 1051)),  # turns with a landscape picture
        ("6寸照片", 300, (3000, 4000), (1205, 1795)),
        ("A4", 300, (2000, 3000), (2480, 3508)),
        ("a4纸", 150, (3000, 2000), (1754, 1240)),
        ("10x15cm", 300, (4000, 3000), (1181, 1772)),  # explicit sizes do not turn
        ("100x150mm", 300, (3000, 4000), (1181, 1772)),
        ("4x6in", 200, (3000, 4000), (800, 1200)),
        ("1寸", 300, (4000, 3000), (295, 413)),  # ID photo sizes never turn
        ("2寸", 600, (3000, 4000), (827, 1157)),
    ],
)
def test_print_sizes_become_pixels_at_their_dpi(
    value: str, dpi: int, picture: tuple[int, int], pixels: tuple[int, int]
) -> None:
    req = Requirements.parse_pairs([f"print={value}", f"dpi={dpi}"])
    assert req.pixels(picture) == pixels
    assert req.effective_dpi == dpi
    assert Requirements.of(req.to_json()) == req


def test_a_print_size_without_dpi_is_300_dpi_and_is_stored_by_its_name() -> None:
    req = Requirements.parse_pairs(["print=五寸"])
    assert req.effective_dpi == 300 and req.to_json() == {"print": "5寸"}
    assert Requirements.parse_pairs(["print=10X15 厘米"]).to_json() == {"print": "10x15cm"}
    assert Requirements.parse_pairs(["dpi=300dpi"]).effective_dpi == 300
    assert Requirements().effective_dpi is None and Requirements().pixels((10, 10)) is None


def test_the_id_photo_sizes_are_their_millimetres_at_300_dpi() -> None:
    # The pixel sizes the contract accepts (size=1寸) and the print sizes agree.
    for name in ("1寸", "2寸", "小一寸", "小二寸", "大一寸"):
        assert Requirements.parse_pairs([f"size={name}"]).size == Requirements.parse_pairs(
            [f"print={name}"]
        ).pixels((1, 1))


@pytest.mark.parametrize(
    ("value", "formats"),
    [
        ("svg,pdf", ("svg", "pdf")),
        ("SVG+EPS", ("svg", "eps")),
        ("pdf和eps", ("pdf", "eps")),
        ("svg, pdf, eps, pdf", ("svg", "pdf", "eps")),
        ("jpeg", ("jpg",)),
    ],
)
def test_several_formats(value: str, formats: tuple[str, ...]) -> None:
    req = Requirements.parse_pairs([f"format={value}"])
    assert req.formats == formats and req.format == formats[0]
    assert Requirements.of(req.to_json()) == req
    assert Requirements.of({"format": list(formats)}).formats == formats


def test_jpeg_quality() -> None:
    assert Requirements.parse_pairs(["quality=85"]).quality == 85
    assert Requirements.parse_pairs(["quality=90%"]).quality == 90


@pytest.mark.parametrize(
    "pair",
    ["print=A0", "print=5x", "print=0x10cm", "dpi=20", "dpi=5000", "quality=0", "quality=101"],
)
def test_bad_new_keys_are_refused(pair: str) -> None:
    with pytest.raises(InvalidArgument):
        Requirements.parse_pairs([pair])


def test_contradictions_are_refused_on_the_command_line() -> None:
    with pytest.raises(InvalidArgument, match="not both"):
        Requirements.parse_pairs(["size=800x800", "print=A4"])
    with pytest.raises(InvalidArgument, match="at most"):
        Requirements.parse_pairs(["print=A3", "dpi=1200"])  # 14031 px a side


def test_an_order_keeps_the_more_specific_of_two_contradictions() -> None:
    stored = {"output": {"size": "800x800", "print": "A4", "min_kb": 90, "max_kb": 50}}
    req = Requirements.from_task(stored)
    assert req.print is not None and req.print.label == "A4" and req.size is None
    assert req.max_kb == 50 and req.min_kb is None


def test_a_new_size_replaces_a_print_size_and_back() -> None:
    output = merge_output({"print": "A4", "background": "white"}, {"size": "800x800"})
    assert output == {"background": "white", "size": "800x800"}
    assert merge_output(output, {"print": "5寸"}) == {"background": "white", "print": "5寸"}
    several = {"format": "svg", "extra_formats": ["eps"]}
    assert merge_output(several, {"format": "pdf"}) == {"format": "pdf"}


@pytest.mark.parametrize(
    ("key", "value", "output"),
    [
        ("size", "5寸", {"print": "5寸"}),
        ("size", "10x15cm", {"print": "10x15cm"}),
        ("dpi", "300dpi", {"dpi": 300}),
        ("format", "svg和pdf", {"format": "svg", "extra_formats": ["pdf"]}),
        ("quality", "80", {"quality": 80}),
    ],
)
def test_chat_details_for_print_and_formats(
    key: str, value: str, output: dict[str, object]
) -> None:
    assert output_from_detail(key, value) == output
