"""Registrations per China day, counted in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from registry import (
    ADMIN,
    Forbidden,
    Handle,
    HandleValue,
    Principal,
    RecordService,
    RecordStats,
    Role,
    last_days,
)
from registry.storage import Database
from registry.storage.models import RecordRow

URL = HandleValue(1, "URL", "string", "https://example.com/")
ACME = Principal(Role.ENTERPRISE, "300:88.118.8/ADMIN", 1, frozenset({"88.118.8"}))


async def _created(db: Database, handle: str, moment: datetime) -> None:
    async with db.write() as session:
        await session.execute(
            update(RecordRow).where(RecordRow.handle == handle).values(created_at=moment)
        )


def test_last_days_end_today_in_china() -> None:
    late = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # already the 5th in China
    assert last_days(3, late) == ["2026-12-03", "2026-12-04", "2026-12-05"]


async def test_registrations_per_day_in_china_time(db: Database) -> None:
    records = RecordService(db)
    today = last_days(1)[0]
    midnight = datetime.fromisoformat(today).replace(tzinfo=UTC) - timedelta(hours=8)
    placed = {
        "88.118.8/TODAY-1": midnight + timedelta(minutes=1),
        "88.118.8/TODAY-2": midnight + timedelta(hours=20),
        "88.118.8/YESTERDAY": midnight - timedelta(minutes=1),
        "88.118.8/LONG-AGO": midnight - timedelta(days=40),
        "88.118.9/OTHER": midnight + timedelta(minutes=5),
    }
    for handle, moment in placed.items():
        await records.put(ADMIN, Handle.parse(handle), [URL])
        await _created(db, handle, moment)
    stats = RecordStats(db)
    days = await stats.registrations(ACME, 7)
    assert len(days) == 7 and days[-1] == (today, 2) and days[-2][1] == 1
    assert sum(count for _, count in days) == 3
    assert await stats.total(ACME) == 4
    with pytest.raises(Forbidden):
        await stats.registrations(ACME, 7, ["88.118.9"])
