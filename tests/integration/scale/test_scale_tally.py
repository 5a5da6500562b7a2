"""Counting of the scale-out suite: lost and doubled items from plain rows (no database needed)."""

from __future__ import annotations

from ai_cs.bench.scale import ScaleConfig, ScaleReport, summary
from ai_cs.bench.scale_tally import Ledger, Observed, percentile, tally


def clean_run() -> Observed:
    """Two customers whose every step arrived once: the ledger must be all zeros."""
    return Observed(
        pushed_events=["ev-1", "ev-2", "ev-3", "ev-4"],
        inbox=[
            ("ev-1", "processed"),
            ("ev-2", "processed"),
            ("ev-3", "processed"),
            ("ev-4", "processed"),
        ],
        orders={"b1": "order-1", "b2": "order-2"},
        notes_sent={"b1": "要高清（1号）", "b2": "要高清（2号）"},
        tasks=[("T1", "b1", "completed"), ("T2", "b2", "awaiting_confirm")],
        payments=[("order-1", "T1", "applied"), ("order-2", "T2", "applied")],
        jobs=[("T1", "succeeded"), ("T2", "succeeded")],
        notes=[
            ("T1", "add_note", "[11-28 09:00] 要高清（1号）"),
            ("T2", "add_note", "要高清（2号）"),
        ],
        outbox=[("c1", "sent"), ("c2", "sent")],
        delivered=[("c1", "b1", "已收到您的付款 10.00 元"), ("c2", "b2", "下载结果：http://x/r/t")],
    )


def test_a_clean_run_counts_nothing() -> None:
    ledger = tally(clean_run())
    assert ledger.clean, ledger.details
    assert ledger.total_lost == 0 and ledger.total_doubled == 0


def test_events_never_stored_unprocessed_or_unacked_are_lost() -> None:
    seen = clean_run()
    seen.pushed_events.append("ev-5")  # never stored
    seen.inbox[0] = ("ev-1", "received")  # stored, never handled
    seen.unacked_events = {"ev-5"}
    ledger = tally(seen)
    assert ledger.lost["events"] == 2
    assert ledger.lost["acks"] == 1
    assert not ledger.clean


def test_a_second_task_for_one_customer_is_doubled_and_a_missing_one_lost() -> None:
    seen = clean_run()
    seen.tasks.append(("T3", "b1", "pending"))
    seen.tasks = [t for t in seen.tasks if t[1] != "b2"]
    ledger = tally(seen)
    assert ledger.doubled["tasks"] == 1
    assert ledger.lost["tasks"] == 1


def test_payments_and_jobs() -> None:
    seen = clean_run()
    seen.payments = [("order-1", "T1", "applied"), ("order-x", "T1", "applied")]  # order-2 lost
    seen.jobs = [("T1", "succeeded"), ("T1", "succeeded")]  # doubled job for T1
    ledger = tally(seen)
    assert ledger.lost["payments"] == 1
    assert ledger.doubled["payments"] == 1
    assert ledger.doubled["jobs"] == 1


def test_a_paid_task_left_processing_lost_its_job() -> None:
    seen = clean_run()
    seen.tasks[1] = ("T2", "b2", "processing")
    assert tally(seen).lost["jobs"] == 1
    seen.jobs = [("T1", "succeeded")]
    assert tally(seen).lost["jobs"] == 1  # no job at all counts once too


def test_notes_missing_or_twice() -> None:
    seen = clean_run()
    seen.notes = [("T1", "add_note", "要高清（1号）"), ("T1", "add_note", "要高清（1号）")]
    ledger = tally(seen)
    assert ledger.doubled["notes"] == 1
    assert ledger.lost["notes"] == 1  # T2's note


def test_sends_pending_unreceived_or_said_twice() -> None:
    seen = clean_run()
    seen.outbox += [("c3", "pending"), ("c4", "sent")]  # c4 never reached the customer
    seen.delivered.append(("c5", "b1", "已收到您的付款 10.00 元"))  # the same reply twice
    ledger = tally(seen)
    assert ledger.lost["sends"] == 2
    assert ledger.doubled["sends"] == 1


def test_timeouts_and_unreachable_results_are_lost() -> None:
    seen = clean_run()
    seen.replies_missing = 2
    seen.results_unreachable = 1
    ledger = tally(seen)
    assert ledger.lost["replies"] == 2 and ledger.lost["results"] == 1


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.99) == 0.0


def test_report_lines_and_summary() -> None:
    ledger = Ledger()
    report = ScaleReport(
        ledger,
        numbers={
            "scale_events_per_s": 3.0,
            "scale_message_reply_p50_ms": 500.0,
            "scale_message_reply_p99_ms": 2000.0,
            "throughput_1w_default_tasks_per_s": 1.0,
            "throughput_2w_default_tasks_per_s": 1.5,
        },
    )
    lines = {r.bench: r for r in report.results()}
    assert lines["scale_lost_total"].value == 0 and lines["scale_lost_total"].ratio == 1.0
    assert lines["scale_message_reply_p99_ms"].ratio == 0.25
    assert lines["scale_workers_2v1_cv_threads_default"].ratio == 1.5
    assert "PASS" in summary(report)
    ledger.add("lost", "events", 1, "ev-9 never stored")
    assert "FAIL" in summary(report) and report.results()[0].ratio == 0.0


def test_presets_are_bounded() -> None:
    quick, full = ScaleConfig.preset(True), ScaleConfig.preset(False)
    assert quick.customers == 50 and not quick.pg_restart
    assert full.customers == 200 and full.deadline > quick.deadline
