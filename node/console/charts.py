"""Bar charts as plain geometry, drawn as inline SVG by ``console/chart.html``.

No script and no style attribute (the pages' CSP allows neither): positions and sizes are SVG
attributes, colours come from the console's stylesheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Chart", "bar_chart"]

WIDTH = 640
HEIGHT = 200
_LEFT = 44  # room for the axis labels
_BOTTOM = 24
_TOP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    # Only some bars are labelled under the axis (one in every ``step``), so labels never overlap.
    show_label: bool


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, int], ...]  # (y, value) of the horizontal grid lines
    baseline: float
    left: int
    total: int


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    points: Sequence[tuple[str, int]], *, width: int = WIDTH, height: int = HEIGHT
) -> Chart:
    """One bar per ``(label, value)``; the y axis from 0 to a round number above the largest."""
    top = _nice_ceiling(max((value for _, value in points), default=0))
    plot_width = width - _LEFT - 4
    plot_height = height - _BOTTOM - _TOP
    baseline = float(_TOP + plot_height)
    slot = plot_width / max(len(points), 1)
    step = max(1, round(len(points) / 8))
    bars = []
    for position, (label, value) in enumerate(points):
        bar_height = plot_height * value / top
        bars.append(
            Bar(
                x=round(_LEFT + position * slot + slot * 0.15, 2),
                y=round(baseline - bar_height, 2),
                width=round(slot * 0.7, 2),
                height=round(bar_height, 2),
                label=label,
                value=value,
                show_label=(len(points) - 1 - position) % step == 0,
            )
        )
    count = min(4, top)
    values = sorted({top * n // count for n in range(count + 1)})
    ticks = tuple((round(baseline - plot_height * v / top, 2), v) for v in values)
    return Chart(
        width, height, tuple(bars), ticks, baseline, _LEFT, sum(value for _, value in points)
    )
