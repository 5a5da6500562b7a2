"""Analysis on generated pictures, with the real OCR where text matters."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from pictures import (
    ID_NUMBER,
    POSTER_LINES,
    document,
    encode,
    flat_logo,
    id_card,
    photo_like,
    poster,
    red_seal_picture,
)

from ai_cs.core.pricing import Complexity, PriceTable
from ai_cs.core.risk import Decision
from ai_cs.imaging.analysis import analyze_image, aspect_ratio, resolution_class
from ai_cs.imaging.errors import ExtremeAspectRatio
from ai_cs.imaging.ocr import OcrEngine, OcrLine, RapidOcrEngine, StaticOcr, default_ocr
from ai_cs.imaging.report import CustomerHistory, analyze_source

LEVELS = list(Complexity)


def char_recall(expected: str, read: str) -> float:
    """Share of the expected characters (spaces ignored) that the OCR produced."""
    want = Counter("".join(expected.split()))
    got = Counter("".join(read.split()))
    return sum((want & got).values()) / sum(want.values())


# --- text, surcharge and quote -----------------------------------------------------------------
def test_poster_text_is_read_and_priced_as_text_order(settings):
    report = analyze_source(encode(poster(), "PNG"), settings)
    text = report.analysis.text
    assert text.found
    recall = char_recall("".join(POSTER_LINES), text.text)
    assert recall >= 0.9, (recall, text.text)
    assert text.area_ratio > 0.05
    assert all(len(line.box) == 4 and 0 < line.score <= 1 for line in text.lines)
    q = report.quote
    assert q.surcharge.applied
    assert any(item.code == "text_surcharge" for item in q.items)
    assert 6000 <= q.total_fen <= 8000
    assert q.operation.value == "enhance"  # the documented default
    assert report.risk.decision is Decision.ACCEPT


def test_photo_without_text_gets_no_surcharge(settings):
    report = analyze_source(encode(photo_like(), "JPEG", quality=92), settings)
    assert not report.analysis.text.found
    assert not report.quote.surcharge.applied
    assert {i.code for i in report.quote.items} == {"base"}
    assert (
        report.quote.total_fen
        == PriceTable().base_fen[report.operation][report.analysis.complexity]
    )
    assert report.quote.total_fen < 6000


def test_id_card_is_not_a_plain_accept(settings):
    report = analyze_source(encode(id_card(), "PNG"), settings, operation="enhance")
    read = "".join(report.analysis.text.text.split())
    assert "身份" in read
    assert ID_NUMBER in read.upper()
    assert report.risk.decision is not Decision.ACCEPT
    assert {"id_card", "id_number"} & {r.code for r in report.risk.reasons}


def test_id_card_with_forgery_request_is_declined(settings):
    report = analyze_source(
        encode(id_card(), "PNG"), settings, request_text="帮我改名字", ocr=StaticOcr(["居民身份证"])
    )
    assert report.risk.decision is Decision.DECLINE


def test_history_reaches_the_risk_rules(settings):
    report = analyze_source(
        encode(flat_logo((200, 200)), "PNG"),
        settings,
        ocr=StaticOcr(),
        history=CustomerHistory(refunds=6),
    )
    assert report.risk.decision is Decision.DECLINE


def test_rapidocr_is_quiet_and_loaded_once(capfd):
    assert default_ocr() is default_ocr()
    engine = RapidOcrEngine()
    assert isinstance(engine, OcrEngine)
    lines = engine.read(np.asarray(poster(lines=("Hello 你好",), size=(600, 200))))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert lines and "Hello" in lines[0].text


def test_large_picture_is_scaled_for_ocr_and_boxes_mapped_back():
    img = poster(lines=("Big Sale",), size=(2400, 1200))  # read at 1600x800
    lines = RapidOcrEngine(max_side=1600).read(np.asarray(img))
    assert lines and "Sale" in lines[0].text
    xs = [x for x, _ in lines[0].box]
    ys = [y for _, y in lines[0].box]
    assert min(xs) >= 0 and max(xs) < 2400
    # The line is drawn at y ≈ 570..640 of the original; the scaled copy has it at ≈ 380..430.
    assert 540 < max(ys) < 700, ys


def test_the_angle_classifier_runs_only_for_lines_that_read_unsurely(monkeypatch):
    engine = RapidOcrEngine()
    upright = poster(lines=("欢迎光临", "Welcome"), size=(900, 600))
    model = type(engine._load())
    calls: list[bool] = []
    original = model.__call__

    def spy(self, img, *args, **kwargs):  # noqa: ANN001, ANN202 - RapidOCR's own signature
        calls.append(bool(kwargs.get("use_cls")))
        return original(self, img, *args, **kwargs)

    monkeypatch.setattr(model, "__call__", spy)
    read = " ".join(line.text for line in engine.read(np.asarray(upright)))
    assert calls == [False]  # upright lines read surely: one pass, no classifier
    calls.clear()
    read_down = " ".join(line.text for line in engine.read(np.asarray(upright.rotate(180))))
    assert calls == [False, True]  # upside down: a second pass turns the lines
    for text in (read, read_down):
        assert "欢迎光临" in text and "Welcome" in text


# --- geometry ------------------------------------------------------------------------------------
def test_tilted_document_has_perspective_with_corners():
    analysis = analyze_image(document(tilted=True), ocr=StaticOcr())
    assert analysis.perspective == "yes"
    expected = np.array([[260, 110], [820, 190], [760, 900], [170, 820]], dtype=float)
    assert analysis.perspective_quad is not None
    found = np.array(analysis.perspective_quad)
    assert np.abs(found - expected).max() < 20, found


def test_flat_document_has_no_perspective():
    analysis = analyze_image(document(tilted=False), ocr=StaticOcr())
    assert analysis.perspective == "no"
    assert analysis.perspective_quad is None


@pytest.mark.parametrize("make", [photo_like, flat_logo, poster, id_card])
def test_ordinary_pictures_have_no_perspective(make):
    assert analyze_image(make(), ocr=StaticOcr()).perspective == "no"


def test_flat_logo_is_less_complex_than_a_photo():
    logo = analyze_image(flat_logo(), ocr=StaticOcr())
    photo = analyze_image(photo_like(), ocr=StaticOcr())
    assert LEVELS.index(logo.complexity) < LEVELS.index(photo.complexity)
    assert logo.complexity is Complexity.SIMPLE
    assert logo.complexity_metrics.colours < photo.complexity_metrics.colours
    assert logo.complexity_metrics.score < photo.complexity_metrics.score


def test_sharpness_drops_when_blurred():
    from PIL import ImageFilter

    sharp = analyze_image(poster(), ocr=StaticOcr())
    blurred = analyze_image(poster().filter(ImageFilter.GaussianBlur(6)), ocr=StaticOcr())
    assert blurred.sharpness < sharp.sharpness / 5
    assert blurred.blurry and not sharp.blurry


def test_red_seal_is_detected():
    assert analyze_image(red_seal_picture(), ocr=StaticOcr()).red_seal
    assert not analyze_image(poster(), ocr=StaticOcr()).red_seal
    assert not analyze_image(flat_logo(), ocr=StaticOcr()).red_seal


@pytest.mark.parametrize(
    ("size", "name"),
    [
        ((1000, 1000), "1:1"),
        ((1920, 1080), "16:9"),
        ((1080, 1920), "9:16"),
        ((1024, 768), "4:3"),
        ((768, 1024), "3:4"),
        ((1500, 1000), "3:2"),
        ((1000, 1500), "2:3"),
        ((2000, 1000), "2:1"),
        ((1000, 2000), "1:2"),
        ((2560, 1080), "21:9"),
        ((1010, 1000), "1:1"),
    ],
)
def test_aspect_ratio(size, name):
    found, exact = aspect_ratio(*size)
    assert found == name
    assert exact == pytest.approx(size[0] / size[1], abs=1e-4)


def test_resolution_classes():
    assert [resolution_class(mp) for mp in (0.05, 0.3, 2.0, 12.0)] == [
        "tiny",
        "small",
        "medium",
        "large",
    ]


def test_requirements_and_transparent_pictures():
    from PIL import Image

    img = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    analysis = analyze_image(img, ocr=StaticOcr([OcrLine(text="Hi there", box=[], score=0.9)]))
    req = analysis.to_requirements()
    for key in ("complexity", "aspect_ratio", "perspective", "text_found", "width", "height"):
        assert key in req
    assert req["aspect_ratio"] == "4:3"
    assert req["text_found"] is True
    json.dumps(req, ensure_ascii=False)


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_json_for_a_poster(run_cli, tmp_path):
    path = tmp_path / "poster.png"
    path.write_bytes(encode(poster(), "PNG"))
    result = run_cli(str(path), "--json", "--operation", "remove_bg", "--request", "需要去掉背景")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "width",
        "height",
        "aspect_ratio",
        "complexity",
        "perspective",
        "text",
        "risk",
        "quote",
    ):
        assert key in data
    assert data["text"]["found"] is True and data["text"]["lines"]
    assert data["risk"]["decision"] == "accept"
    assert data["quote"]["operation"] == "remove_bg"
    assert 6000 <= data["quote"]["total_fen"] <= 8000
    assert data["quote"]["items"]
    assert "文字加价" in result.stdout  # ensure_ascii=False


def test_cli_human_output(run_cli, tmp_path):
    path = tmp_path / "logo.png"
    path.write_bytes(encode(flat_logo((300, 300)), "PNG"))
    result = run_cli(str(path))
    assert result.exit_code == 0, result.stderr
    assert "合计" in result.stdout and "simple" in result.stdout


def test_crooked_page_has_perspective_but_a_diamond_logo_does_not():
    from PIL import Image, ImageDraw

    crooked = document(tilted=False).rotate(12, fillcolor=(45, 40, 38))
    assert analyze_image(crooked, ocr=StaticOcr()).perspective == "yes"
    diamond = Image.new("RGB", (800, 800), "white")
    ImageDraw.Draw(diamond).polygon([(400, 60), (740, 400), (400, 740), (60, 400)], fill="navy")
    assert analyze_image(diamond, ocr=StaticOcr()).perspective == "no"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [(3, 3), (2000, 90), (100, 3000), (4000, 134)])
def test_extreme_shapes_are_analysed_quickly(settings, size):
    from PIL import Image

    report = analyze_source(encode(Image.new("RGB", size, (200, 10, 10)), "PNG"), settings)
    assert (report.analysis.width, report.analysis.height) == size
    assert report.risk.decision in set(Decision)


@pytest.mark.parametrize("size", [(1, 5000), (5000, 1), (40000, 1), (3100, 100)])
def test_strips_are_refused_before_decoding(settings, size):
    from PIL import Image

    with pytest.raises(ExtremeAspectRatio) as refused:
        analyze_source(encode(Image.new("RGB", size, (200, 10, 10)), "PNG"), settings)
    assert refused.value.code == "extreme_aspect_ratio"
    assert not (settings.data_dir / "images").exists()
