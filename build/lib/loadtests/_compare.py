"""Benchmarks report ratios against a baseline run in the same session, never bare figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["COMPARED", "ratio_table", "ratios"]

COMPARED = ("achieved_rate", "items_per_s", "p50", "p90", "p99", "p99.9", "max")


def ratios(
    baseline: dict[str, Any], candidate: dict[str, Any], keys: Sequence[str] = COMPARED
) -> dict[str, float | None]:
    """``candidate[key] / baseline[key]`` for each key both reports have (None if baseline is 0)."""
    result: dict[str, float | None] = {}
    for key in keys:
        if key in baseline and key in candidate:
            base = baseline[key]
            result[key] = round(candidate[key] / base, 3) if base else None
    return result


def ratio_table(
    baseline: dict[str, Any], candidate: dict[str, Any], keys: Sequence[str] = COMPARED
) -> str:
    """A plain-text table: key, baseline, candidate, candidate/baseline."""
    lines = [f"{'':14}{'baseline':>12}{'candidate':>12}{'ratio':>9}"]
    for key, value in ratios(baseline, candidate, keys).items():
        shown = "-" if value is None else f"{value:.3f}"
        lines.append(f"{key:14}{baseline[key]:>12}{candidate[key]:>12}{shown:>9}")
    return "\n".join(lines)
