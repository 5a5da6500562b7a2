"""Pricing is data: base table, extras and the 60-80 yuan text rule."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from ai_cs.core.pricing import (
    Complexity,
    PriceTable,
    QuoteFeatures,
    has_text,
    quote,
    text_amount,
    text_target_fen,
)
from ai_cs.core.tasks import Operation
from ai_cs.errors import UnknownOperation

TABLE = PriceTable()


@pytest.mark.parametrize(
    ("operation", "complexity"), list(itertools.product(Operation, Complexity))
)
def test_every_operation_and_complexity_has_a_positive_whole_fen_price(operation, complexity):
    q = quote(operation, QuoteFeatures(complexity=complexity))
    assert q.operation is operation
    assert q.total_fen == TABLE.base_fen[operation][complexity] > 0
    assert isinstance(q.total_fen, int)
    assert [i.code for i in q.items] == ["base"]
    assert not q.surcharge.applied


@pytest.mark.parametrize("operation", list(Operation))
def test_prices_rise_with_complexity(operation):
    totals = [quote(operation, QuoteFeatures(complexity=c)).total_fen for c in Complexity]
    assert totals == sorted(totals) and len(set(totals)) == 3


def test_layered_cutout_costs_more_than_enhance():
    for level in Complexity:
        f = QuoteFeatures(complexity=level)
        assert quote("remove_bg_and_layer", f).total_fen > quote("enhance", f).total_fen


def test_operation_as_string_and_unknown_operation():
    assert quote("vectorize", QuoteFeatures()).operation is Operation.VECTORIZE
    with pytest.raises(UnknownOperation):
        quote("paint_it_black", QuoteFeatures())


def test_extras_are_line_items_that_add_up():
    f = QuoteFeatures(complexity=Complexity.NORMAL, perspective=True, megapixels=12.0, rush=True)
    q = quote(Operation.REMOVE_BG, f)
    codes = {i.code: i.amount_fen for i in q.items}
    assert codes == {
        "base": 2500,
        "perspective": TABLE.perspective_fen,
        "large_size": TABLE.large_size_fen,
        "rush": TABLE.rush_fen,
    }
    assert q.total_fen == sum(i.amount_fen for i in q.items)
    assert all(i.label for i in q.items)


def test_large_size_starts_at_the_threshold():
    below = quote("enhance", QuoteFeatures(megapixels=TABLE.large_megapixels - 0.01))
    at = quote("enhance", QuoteFeatures(megapixels=TABLE.large_megapixels))
    assert "large_size" not in {i.code for i in below.items}
    assert "large_size" in {i.code for i in at.items}


def test_labels_are_chinese():
    q = quote("enhance", QuoteFeatures(perspective=True, text_chars=40))
    labels = {i.code: i.label for i in q.items}
    assert labels["base"] == "画质增强（普通）"
    assert labels["perspective"] == "透视校正"
    assert labels["text_surcharge"] == "文字加价"


# --- the text rule --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("operation", "complexity", "chars", "area"),
    list(
        itertools.product(
            Operation, Complexity, [2, 10, 30, 65, 120, 500], [0.0, 0.05, 0.2, 0.45, 0.9]
        )
    ),
)
def test_text_orders_always_total_60_to_80_yuan(operation, complexity, chars, area):
    f = QuoteFeatures(complexity=complexity, text_chars=chars, text_area_ratio=area)
    q = quote(operation, f)
    assert 6000 <= q.total_fen <= 8000
    assert q.total_fen == sum(i.amount_fen for i in q.items)
    assert q.surcharge.applied
    assert q.surcharge.band_min_fen == 6000 and q.surcharge.band_max_fen == 8000
    assert q.total_fen % 100 == 0 or q.total_fen == TABLE.base_fen[operation][complexity]


@pytest.mark.parametrize("extras", [{}, {"perspective": True, "rush": True, "megapixels": 20.0}])
def test_text_orders_stay_in_band_with_extras(extras):
    for op, level in itertools.product(Operation, Complexity):
        q = quote(op, QuoteFeatures(complexity=level, text_chars=50, **extras))
        assert 6000 <= q.total_fen <= 8000


def test_little_text_sits_at_the_bottom_and_lots_at_the_top():
    low = quote("enhance", QuoteFeatures(complexity=Complexity.SIMPLE, text_chars=3))
    high = quote("enhance", QuoteFeatures(complexity=Complexity.SIMPLE, text_chars=400))
    assert low.total_fen == 6000
    assert high.total_fen == 8000


def test_more_text_never_costs_less():
    totals = [quote("enhance", QuoteFeatures(text_chars=n)).total_fen for n in range(2, 200, 3)]
    assert totals == sorted(totals)
    assert totals[0] == 6000 and totals[-1] == 8000


def test_text_area_can_lift_the_price_of_few_large_characters():
    few_small = quote("enhance", QuoteFeatures(text_chars=4, text_area_ratio=0.02))
    few_huge = quote("enhance", QuoteFeatures(text_chars=4, text_area_ratio=0.45))
    assert few_small.total_fen == 6000
    assert few_huge.total_fen == 8000


def test_surcharge_lifts_a_cheap_job_to_the_target():
    f = QuoteFeatures(complexity=Complexity.SIMPLE, text_chars=65)  # halfway: 70 yuan
    assert text_target_fen(f, TABLE) == 7000
    q = quote("enhance", f)
    assert q.total_fen == 7000
    surcharge = [i for i in q.items if i.code == "text_surcharge"]
    assert surcharge and surcharge[0].amount_fen == 7000 - 1000
    assert q.surcharge.amount_fen == 6000
    assert "60-80" in q.surcharge.reason


def test_subtotal_inside_the_band_is_kept():
    f = QuoteFeatures(complexity=Complexity.COMPLEX, text_chars=3)  # vectorize complex = 60
    q = quote("vectorize", f)
    assert q.total_fen == 6000
    assert "text_surcharge" not in {i.code for i in q.items}


def test_subtotal_above_the_band_is_capped_with_a_negative_line():
    f = QuoteFeatures(complexity=Complexity.COMPLEX, text_chars=3, perspective=True, rush=True)
    q = quote("remove_bg_and_layer", f)  # 8000 + 500 + 1000 before the cap
    assert q.total_fen == 8000
    cap = [i for i in q.items if i.code == "text_cap"]
    assert cap and cap[0].amount_fen == -1500
    assert q.surcharge.amount_fen == -1500


def test_one_character_is_not_a_text_order():
    f = QuoteFeatures(text_chars=1, text_area_ratio=0.3)
    assert not has_text(f, TABLE)
    q = quote("enhance", f)
    assert q.total_fen == 1500 and not q.surcharge.applied


def test_text_amount_is_clamped_between_zero_and_one():
    assert text_amount(QuoteFeatures(text_chars=0), TABLE) == 0.0
    assert text_amount(QuoteFeatures(text_chars=10_000), TABLE) == 1.0
    assert 0 < text_amount(QuoteFeatures(text_chars=50), TABLE) < 1


def test_custom_table_changes_prices_without_code():
    table = PriceTable(text_band_min_fen=5000, text_band_max_fen=5000, rush_fen=2000)
    q = quote("enhance", QuoteFeatures(text_chars=300, rush=True), table)
    assert q.total_fen == 5000
    assert quote("enhance", QuoteFeatures(rush=True), table).total_fen == 1500 + 2000


def test_a_partial_table_keeps_the_list_prices_and_bad_tables_are_refused():
    partial = PriceTable(base_fen={Operation.ENHANCE: {Complexity.SIMPLE: 100}})
    listed = PriceTable()
    assert partial.base_fen[Operation.ENHANCE][Complexity.SIMPLE] == 100
    assert (
        partial.base_fen[Operation.ENHANCE][Complexity.NORMAL]
        == (listed.base_fen[Operation.ENHANCE][Complexity.NORMAL])
    )
    assert partial.base_fen[Operation.VECTORIZE] == listed.base_fen[Operation.VECTORIZE]
    from_json = PriceTable.model_validate_json('{"base_fen": {"remove_bg": {"complex": 5000}}}')
    assert from_json.base_fen[Operation.REMOVE_BG][Complexity.COMPLEX] == 5000
    assert (
        from_json.base_fen[Operation.REMOVE_BG][Complexity.SIMPLE]
        == (listed.base_fen[Operation.REMOVE_BG][Complexity.SIMPLE])
    )
    with pytest.raises(ValidationError):
        PriceTable(base_fen={Operation.ENHANCE: {Complexity.SIMPLE: -100}})
    with pytest.raises(ValidationError):
        PriceTable.model_validate({"base_fen": {"teleport": {"simple": 100}}})
    with pytest.raises(ValidationError):
        PriceTable.model_validate({"base_fen": {"enhance": {"trivial": 100}}})
    with pytest.raises(ValidationError):
        PriceTable(text_band_min_fen=9000, text_band_max_fen=8000)
    with pytest.raises(ValidationError):
        QuoteFeatures(text_area_ratio=1.5)


def test_total_yuan_display():
    assert quote("enhance", QuoteFeatures(complexity=Complexity.SIMPLE)).total_yuan == "10.00"
