"""What an enterprise's dashboard counts: its records, and how many it registered each day."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from ._grammar import Prefix
from ._principal import Principal
from .storage.database import Database
from .storage.stats import RecordCounts

__all__ = ["CHINA_OFFSET_HOURS", "RecordStats", "last_days"]

# Days are China's (UTC+8): the day an enterprise's staff see on their clocks.
CHINA_OFFSET_HOURS = 8


def last_days(days: int, now: datetime | None = None) -> list[str]:
    """The last ``days`` dates in China time, oldest first, today last (``YYYY-MM-DD``)."""
    today = ((now or datetime.now(UTC)) + timedelta(hours=CHINA_OFFSET_HOURS)).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


class RecordStats:
    """Registrations per day and record totals for the prefixes a caller holds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _prefixes(self, principal: Principal, prefixes: Collection[str] | None) -> list[str]:
        held = sorted(prefixes if prefixes is not None else principal.prefixes)
        for prefix in held:
            principal.require_owner(Prefix.parse(prefix))
        return held

    async def registrations(
        self, principal: Principal, days: int, prefixes: Collection[str] | None = None
    ) -> list[tuple[str, int]]:
        """``(date, records registered that day)`` for the last ``days`` days, oldest first.

        Counts records that still exist (a deleted record no longer counts on its day).
        """
        held = self._prefixes(principal, prefixes)
        dates = last_days(days)
        if not held:
            return [(day, 0) for day in dates]
        since = datetime.fromisoformat(dates[0]).replace(tzinfo=UTC) - timedelta(
            hours=CHINA_OFFSET_HOURS
        )
        async with self.db.read() as session:
            counts = await RecordCounts(session).created_per_day(held, since, CHINA_OFFSET_HOURS)
        return [(day, counts.get(day, 0)) for day in dates]

    async def total(self, principal: Principal, prefixes: Collection[str] | None = None) -> int:
        """Records held under the caller's prefixes (or ``prefixes``)."""
        held = self._prefixes(principal, prefixes)
        if not held:
            return 0
        async with self.db.read() as session:
            return await RecordCounts(session).total(held)
