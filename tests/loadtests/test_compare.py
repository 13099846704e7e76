"""Ratios against a baseline."""

from __future__ import annotations

from loadtests import ratio_table, ratios


def test_ratios_divide_candidate_by_baseline() -> None:
    baseline = {"achieved_rate": 100.0, "p50": 2.0, "p99": 0, "max": 10.0}
    candidate = {"achieved_rate": 250.0, "p50": 1.0, "p99": 3.0}
    assert ratios(baseline, candidate) == {"achieved_rate": 2.5, "p50": 0.5, "p99": None}
    table = ratio_table(baseline, candidate)
    assert "2.500" in table and "0.500" in table
