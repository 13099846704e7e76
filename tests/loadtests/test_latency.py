"""LatencyRecorder and Timeline: percentiles, coordinated-omission back-fill, per-second rows."""

from __future__ import annotations

from loadtests import LatencyRecorder, Timeline


def test_summary_has_the_percentiles_in_milliseconds_in_order() -> None:
    recorder = LatencyRecorder()
    for ms in range(1, 1001):
        recorder.record(ms / 1000)
    summary = recorder.summary()
    assert list(summary) == ["p50", "p90", "p99", "p99.9", "max", "mean"]
    assert abs(summary["p50"] - 500) <= 1
    assert abs(summary["p99"] - 990) <= 1
    assert abs(summary["max"] - 1000) <= 1
    assert summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["p99.9"] <= summary["max"]


def test_an_empty_recorder_reports_zeros() -> None:
    assert LatencyRecorder().summary() == {
        "p50": 0.0,
        "p90": 0.0,
        "p99": 0.0,
        "p99.9": 0.0,
        "max": 0.0,
        "mean": 0.0,
    }
    assert LatencyRecorder().curve() == []


def test_closed_loop_stall_is_back_filled_at_the_expected_interval() -> None:
    recorder = LatencyRecorder(expected_interval=0.010)
    for _ in range(99):
        recorder.record(0.001)
    # One 1-second stall stands for the ~99 requests that should have gone out meanwhile.
    recorder.record(1.0)
    assert recorder.count == 99 + 100
    assert recorder.percentile_ms(75) > 400


def test_uncorrected_recorder_keeps_one_sample_per_record() -> None:
    recorder = LatencyRecorder()
    for _ in range(99):
        recorder.record(0.001)
    recorder.record(1.0)
    assert recorder.count == 100
    assert recorder.percentile_ms(75) < 2


def test_merge_adds_samples() -> None:
    first, second = LatencyRecorder(), LatencyRecorder()
    first.record(0.001)
    second.record(0.002)
    second.record(0.003)
    first.merge(second)
    assert first.count == 3


def test_timeline_has_a_row_per_second_including_silent_ones() -> None:
    timeline = Timeline()
    timeline.record(0.2, 0.004, True)
    timeline.record(0.7, 0.006, True)
    timeline.record(2.5, 0.010, False)
    rows = [row.as_dict() for row in timeline.finish()]
    assert [(row["t"], row["completed"], row["errors"]) for row in rows] == [
        (0, 2, 0),
        (1, 0, 0),
        (2, 1, 1),
    ]
    assert rows[2]["max"] >= 9.9
