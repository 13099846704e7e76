"""Resolutions counted per day and per identifier, in memory, for the console's statistics.

Cheap enough for the hot path: a clock read and two dictionary increments. Counts belong to
one node process and start again when it restarts; days are China's (UTC+8). The identifiers
counted are bounded (``max_keys``): once full, only identifiers already counted go on counting.
"""

from __future__ import annotations

import datetime as dt
import heapq
import time
from collections.abc import Callable

__all__ = ["ResolutionTally"]

_DAY = 86_400
_CHINA = 8 * 3600
_EPOCH = dt.date(1970, 1, 1)


class ResolutionTally:
    """Resolutions per China day (the last ``keep_days``) and per identifier since start."""

    def __init__(
        self,
        *,
        keep_days: int = 31,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keep_days = keep_days
        self.max_keys = max_keys
        self.clock = clock
        # Finished days by their number since 1970 (China time); today's count apart, so a
        # resolution costs a clock read, a comparison and an addition, not a division.
        self.days: dict[int, int] = {}
        self.keys: dict[str, int] = {}
        self._day = -1
        self._today = 0
        self._next_day = float("-inf")

    def _roll(self, now: float) -> None:
        if self._today:
            self.days[self._day] = self.days.get(self._day, 0) + self._today
        self._day = int(now + _CHINA) // _DAY
        self._today = 0
        self._next_day = (self._day + 1) * _DAY - _CHINA
        for old in [d for d in self.days if d <= self._day - self.keep_days]:
            del self.days[old]

    def count(self, key: str) -> None:
        """One resolution of ``key`` now."""
        now = self.clock()
        if now >= self._next_day:
            self._roll(now)
        self._today += 1
        keys = self.keys
        seen = keys.get(key)
        if seen is not None:
            keys[key] = seen + 1
        elif len(keys) < self.max_keys:
            keys[key] = 1

    def _per_day(self) -> dict[int, int]:
        return {**self.days, self._day: self._today} if self._today else self.days

    def per_day(self, dates: list[str]) -> list[tuple[str, int]]:
        """``(date, resolutions)`` for each ``YYYY-MM-DD`` of ``dates`` (0 when none)."""
        epoch = _EPOCH.toordinal()
        days = self._per_day()
        return [(d, days.get(dt.date.fromisoformat(d).toordinal() - epoch, 0)) for d in dates]

    def total(self) -> int:
        """Resolutions counted in the days kept."""
        return sum(self._per_day().values())

    def top(self, count: int, prefixes: frozenset[str] | None = None) -> list[tuple[str, int]]:
        """The ``count`` most resolved identifiers, only those under ``prefixes`` if given."""
        items = self.keys.items()
        if prefixes is not None:
            items = [(k, n) for k, n in items if k.split("/", 1)[0] in prefixes]
        return heapq.nlargest(count, items, key=lambda item: (item[1], item[0]))
