"""Latency recording in HdrHistogram: percentiles, coordinated-omission correction, timelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

__all__ = ["PERCENTILES", "IntervalRow", "LatencyRecorder", "Timeline"]

# Microsecond resolution, up to ten minutes, three significant digits (0.1 % error).
_LOWEST_US = 1
_HIGHEST_US = 600_000_000
_DIGITS = 3

PERCENTILES: dict[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}


def _histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def _to_us(seconds: float) -> int:
    return min(max(round(seconds * 1_000_000), _LOWEST_US), _HIGHEST_US)


class LatencyRecorder:
    """One HdrHistogram of latencies; ``summary()`` gives p50/p90/p99/p99.9/max in ms.

    Open-loop callers measure from each request's *intended* start, which already includes any
    queueing behind a slow response. Closed-loop callers (a client that waits for one response
    before sending the next) pass ``expected_interval`` so HdrHistogram back-fills the samples
    that the stall kept them from taking (``record_corrected_value``).
    """

    def __init__(self, expected_interval: float | None = None) -> None:
        self.histogram = _histogram()
        self.expected_interval_us = _to_us(expected_interval) if expected_interval else None

    def record(self, seconds: float) -> None:
        """Record one latency given in seconds."""
        value = _to_us(seconds)
        if self.expected_interval_us:
            self.histogram.record_corrected_value(value, self.expected_interval_us)
        else:
            self.histogram.record_value(value)

    def merge(self, other: LatencyRecorder) -> None:
        """Add another recorder's samples (e.g. one per client) to this one."""
        self.histogram.add(other.histogram)

    @property
    def count(self) -> int:
        """How many samples were recorded (including back-filled ones)."""
        return self.histogram.get_total_count()

    def percentile_ms(self, percentile: float) -> float:
        """The latency at ``percentile`` (0–100) in milliseconds."""
        if not self.count:
            return 0.0
        return round(self.histogram.get_value_at_percentile(percentile) / 1000, 3)

    def max_ms(self) -> float:
        """The largest latency recorded, in milliseconds."""
        return round(self.histogram.get_max_value() / 1000, 3) if self.count else 0.0

    def summary(self) -> dict[str, float]:
        """``{"p50": ms, "p90": ms, "p99": ms, "p99.9": ms, "max": ms, "mean": ms}``."""
        result = {key: self.percentile_ms(value) for key, value in PERCENTILES.items()}
        result["max"] = self.max_ms()
        result["mean"] = round(self.histogram.get_mean_value() / 1000, 3) if self.count else 0.0
        return result

    def curve(self) -> list[tuple[float, float]]:
        """The percentile distribution as ``(percentile, latency ms)`` points, for plotting."""
        if not self.count:
            return []
        points = [
            (item.percentile_level_iterated_to, item.value_iterated_to / 1000)
            for item in self.histogram.get_percentile_iterator(5)
        ]
        return [(p, v) for p, v in points if p < 100.0] + [(100.0, self.max_ms())]

    def encode(self) -> str:
        """The histogram in HdrHistogram's compressed base64 form (readable by other HDR tools)."""
        return self.histogram.encode().decode("ascii")


@dataclass
class IntervalRow:
    """What completed in one interval of the run."""

    second: int
    completed: int
    errors: int
    p50: float
    p99: float
    max: float

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {
            "t": self.second,
            "completed": self.completed,
            "errors": self.errors,
            "p50": self.p50,
            "p99": self.p99,
            "max": self.max,
        }


@dataclass
class Timeline:
    """Per-second throughput and latency, keyed by completion time; memory stays flat."""

    rows: list[IntervalRow] = field(default_factory=list)
    _second: int = 0
    _current: LatencyRecorder = field(default_factory=LatencyRecorder)
    _errors: int = 0

    def record(self, elapsed: float, latency: float, ok: bool) -> None:
        """Record one completion ``elapsed`` seconds into the run."""
        second = int(elapsed)
        if second != self._second:
            self._close()
            # Seconds in which nothing completed are rows too: a stall must show in the plot.
            for empty in range(self._second + 1, second):
                self.rows.append(IntervalRow(empty, 0, 0, 0.0, 0.0, 0.0))
            self._second = second
        self._current.record(latency)
        if not ok:
            self._errors += 1

    def _close(self) -> None:
        current = self._current
        self.rows.append(
            IntervalRow(
                self._second,
                current.count,
                self._errors,
                current.percentile_ms(50),
                current.percentile_ms(99),
                current.max_ms(),
            )
        )
        current.histogram.reset()
        self._errors = 0

    def finish(self) -> list[IntervalRow]:
        """Close the last interval and return all rows."""
        self._close()
        return self.rows
