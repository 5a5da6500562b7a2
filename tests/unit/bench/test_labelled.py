"""The labelled picture set and its character score (no OCR: readers are plain functions)."""

from __future__ import annotations

from ai_cs.bench.labelled import Labelled, char_accuracy, normalise, picture_set


def test_every_poster_is_labelled_and_photographs_are_optional():
    pictures, note = picture_set()
    posters = [p for p in pictures if "poster" in p.name]
    assert len(posters) >= 5
    assert all(normalise(p.text) for p in posters)
    assert any(not p.text for p in pictures)  # pictures without text are scored too
    assert "posters" in note
    assert all(p.image.mode == "RGB" for p in pictures)


def test_the_score_counts_missed_and_invented_characters_but_not_line_order():
    blank = picture_set()[0][0].image
    pictures = [
        Labelled("two lines", blank, "新店开业 Sale"),
        Labelled("nothing", blank, ""),
    ]
    by_picture = iter(["SALE 新店开业", ""])  # lines in another order, another case
    perfect = char_accuracy(pictures, lambda image: next(by_picture))
    assert (perfect.accuracy, perfect.edits, perfect.false_chars) == (1.0, 0, 0)
    by_picture = iter(["新店开 Sale", "一口"])  # one character missed, two invented
    score = char_accuracy(pictures, lambda image: next(by_picture))
    assert (score.labelled_chars, score.edits, score.false_chars) == (8, 3, 2)
    assert score.accuracy == round(1 - 3 / 8, 4)
