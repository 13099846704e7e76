"""SQL of the console's statistics: records registered per day under some prefixes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import RecordRow

__all__ = ["RecordCounts"]


class RecordCounts:
    """Counts of ``records`` rows, grouped in the database (never rows fetched to count)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def created_per_day(
        self, prefixes: Collection[str], since: datetime, utc_offset_hours: int
    ) -> dict[str, int]:
        """``{"YYYY-MM-DD": count}`` of records created since ``since`` under ``prefixes``,
        days counted in the zone ``utc_offset_hours`` east of UTC (records still stored)."""
        hours = int(utc_offset_hours)
        if self.session.bind.dialect.name == "sqlite":
            day = func.date(RecordRow.created_at, f"{hours:+d} hours")
        else:
            day = func.to_char(
                RecordRow.created_at.op("AT TIME ZONE")(text("'UTC'"))
                + text(f"interval '{hours} hours'"),
                "YYYY-MM-DD",
            )
        statement = (
            select(day, func.count())
            .where(RecordRow.prefix.in_(list(prefixes)), RecordRow.created_at >= since)
            .group_by(day)
        )
        rows = (await self.session.execute(statement)).all()
        return {str(key): int(count) for key, count in rows}

    async def total(self, prefixes: Collection[str]) -> int:
        """Records held under ``prefixes``."""
        statement = select(func.count()).where(RecordRow.prefix.in_(list(prefixes)))
        return int((await self.session.execute(statement)).scalar_one())
