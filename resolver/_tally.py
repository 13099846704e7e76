"""Resolutions counted per day and per identifier, in memory, for the console's statistics.

Cheap enough for the hot path: a clock read and two dictionary increments. Counts belong to
one node process and start again when it restarts; days are China's (UTC+8). The identifiers
counted are bounded (``max_keys``): once full, only identifiers already counted go on counting.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
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
        self.days: dict[int, int] = {}
        self.keys: Counter[str] = Counter()

    def count(self, key: str) -> None:
        """One resolution of ``key`` now."""
        day = int(self.clock() + _CHINA) // _DAY
        days = self.days
        if day in days:
            days[day] += 1
        else:
            days[day] = 1
            for old in [d for d in days if d <= day - self.keep_days]:
                del days[old]
        keys = self.keys
        if key in keys or len(keys) < self.max_keys:
            keys[key] += 1

    def per_day(self, dates: list[str]) -> list[tuple[str, int]]:
        """``(date, resolutions)`` for each ``YYYY-MM-DD`` of ``dates`` (0 when none)."""
        epoch = _EPOCH.toordinal()
        return [(d, self.days.get(dt.date.fromisoformat(d).toordinal() - epoch, 0)) for d in dates]

    def top(self, count: int, prefixes: frozenset[str] | None = None) -> list[tuple[str, int]]:
        """The ``count`` most resolved identifiers, only those under ``prefixes`` if given."""
        if prefixes is None:
            return self.keys.most_common(count)
        ranked = (
            (key, n) for key, n in self.keys.most_common() if key.split("/", 1)[0] in prefixes
        )
        return [item for _, item in zip(range(count), ranked, strict=False)]
