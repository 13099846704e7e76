"""Quotas counted in the writer's transaction, reset at 00:00 UTC by an injected clock."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from registry import (
    ADMIN,
    ClientRate,
    EnterpriseService,
    Handle,
    HandleValue,
    InvalidInput,
    Prefix,
    Quota,
    QuotaExceeded,
    QuotaService,
    RateCounters,
    RateLimited,
    RecordService,
    ResolutionLimits,
    open_storage,
)
from registry._ratelimit import SweepingMemoryStorage
from registry.storage import Database
from registry.storage.models import OutboxRow, RecordRow

URL = HandleValue(1, "URL", "string", "https://example.com/")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _node(
    db: Database, clock: Clock
) -> tuple[RecordService, EnterpriseService, QuotaService, int]:
    records = RecordService(db)
    quotas = QuotaService(db, RateCounters(open_storage("memory://")), clock=clock)
    records.writer.quota_check = quotas.check_new_records
    enterprises = EnterpriseService(db, records, Prefix.parse("88.118"))
    enterprises.quotas = quotas
    info, _ = await enterprises.create("Acme", "88.118.8")
    return records, enterprises, quotas, info.id


async def _put(records: RecordService, *suffixes: str) -> None:
    async with records.writer.transaction() as tx:
        for suffix in suffixes:
            await tx.put(Handle.parse(f"88.118.8/{suffix}"), [URL], None, new=True)


async def _bulk(records: RecordService, *suffixes: str) -> set[str]:
    async with records.writer.transaction() as tx:
        return await tx.insert_new([(Handle.parse(f"88.118.8/{s}"), "[]", None) for s in suffixes])


async def test_daily_registrations_reset_at_midnight_utc(db: Database) -> None:
    clock = Clock(datetime(2026, 12, 4, 23, 59, 30, tzinfo=UTC))
    records, _, quotas, acme = await _node(db, clock)
    await quotas.set(acme, {"daily_registrations": 2})
    await _put(records, "a", "b")
    with pytest.raises(QuotaExceeded) as refused:
        await _put(records, "c")
    assert refused.value.kind == "daily_registrations"
    assert refused.value.retry_after == 30
    assert (await quotas.usage(acme))["daily_registrations"] == 2
    clock.now += timedelta(seconds=31)
    await _put(records, "c")
    assert (await quotas.usage(acme))["daily_registrations"] == 1


async def test_daily_resolutions_reset_at_midnight_utc(db: Database) -> None:
    clock = Clock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    _, _, quotas, acme = await _node(db, clock)
    await quotas.set(acme, {"daily_resolutions": 1})
    limits = ResolutionLimits(ClientRate("resolve", None, quotas.counters), quotas)
    assert limits.active
    limits.check("10.0.0.1", "88.118.8/a")
    # Another enterprise's handles are not counted against Acme.
    limits.check("10.0.0.1", "88.118.9/a")
    with pytest.raises(QuotaExceeded) as refused:
        limits.check("10.0.0.2", "88.118.8/b")
    assert refused.value.retry_after == 12 * 3600
    clock.now += timedelta(hours=12)
    limits.check("10.0.0.1", "88.118.8/a")


async def test_a_batch_over_the_identifier_quota_writes_nothing(db: Database) -> None:
    records, _, quotas, acme = await _node(db, Clock(datetime.now(UTC)))
    held = (await quotas.usage(acme))["identifiers"]
    await quotas.set(acme, {"identifiers": held + 3, "daily_registrations": 100})
    assert await _bulk(records, "a") == {"88.118.8/a"}
    with pytest.raises(QuotaExceeded) as refused:
        await _bulk(records, "b", "c", "d")
    assert refused.value.kind == "identifiers" and refused.value.retry_after is None
    usage = await quotas.usage(acme)
    # Neither the records nor the day's count of the refused batch were kept.
    assert usage["identifiers"] == held + 1 and usage["daily_registrations"] == 1
    # Handles that exist already are not new: a retried batch counts only what it adds.
    assert await _bulk(records, "a", "b", "c") == {"88.118.8/b", "88.118.8/c"}


async def test_concurrent_writers_cannot_both_slip_under_the_quota(db: Database) -> None:
    records, _, quotas, acme = await _node(db, Clock(datetime.now(UTC)))
    held = (await quotas.usage(acme))["identifiers"]
    await quotas.set(acme, {"identifiers": held + 1})
    results = await asyncio.gather(_put(records, "x"), _put(records, "y"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "QuotaExceeded"]
    assert (await quotas.usage(acme))["identifiers"] == held + 1


async def test_the_prefix_quota_refuses_one_more_prefix(db: Database) -> None:
    _, enterprises, quotas, acme = await _node(db, Clock(datetime.now(UTC)))
    await quotas.set(acme, {"prefixes": 1})
    with pytest.raises(QuotaExceeded) as refused:
        await enterprises.allocate_prefix(acme)
    assert refused.value.kind == "prefixes"
    assert (await quotas.usage(acme))["prefixes"] == 1
    await quotas.set(acme, {"prefixes": None})
    assert await enterprises.allocate_prefix(acme) == "88.118.9"


async def test_quota_changes_are_partial_and_checked(db: Database) -> None:
    _, _, quotas, acme = await _node(db, Clock(datetime.now(UTC)))
    assert await quotas.set(acme, {"identifiers": 5}) == Quota(identifiers=5)
    assert await quotas.set(acme, {"prefixes": 2}) == Quota(identifiers=5, prefixes=2)
    assert await quotas.get(acme) == Quota(identifiers=5, prefixes=2)
    for bad in ({"identifiers": -1}, {"nope": 1}, {"prefixes": 1.5}):
        with pytest.raises(InvalidInput):
            await quotas.set(acme, bad)


def test_a_client_rate_counts_each_client_apart() -> None:
    rate = ClientRate("resolve", "2/minute", RateCounters(open_storage("memory://")))
    rate.check("a")
    rate.check("a")
    rate.check("b")
    with pytest.raises(RateLimited) as refused:
        rate.check("a")
    assert 1 <= refused.value.retry_after <= 60
    assert rate.counters.rejected == {"resolve": 1}


def test_an_unusable_storage_is_named() -> None:
    with pytest.raises(InvalidInput, match="nosuch://x"):
        open_storage("nosuch://x")


@pytest.mark.parametrize(
    "error",
    [
        RateLimited("slow down", retry_after=3, handle="88.118.8/a"),
        QuotaExceeded("over", kind="identifiers", retry_after=None, handle="88.118.8/a"),
    ],
)
def test_limit_errors_survive_pickling(error: RateLimited) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and vars(copy) == vars(error)


def test_the_memory_storage_counts_windows_and_sweeps_without_threads() -> None:
    import threading
    import time

    storage = open_storage("memory://")
    assert isinstance(storage, SweepingMemoryStorage)
    threads = threading.active_count()
    rate = ClientRate("resolve", "2/second", RateCounters(storage))
    for client in ("a", "b"):
        rate.check(client)
        rate.check(client)
    with pytest.raises(RateLimited):
        rate.check("a")
    assert threading.active_count() == threads
    time.sleep(1.1)
    rate.check("a")  # a new window
    # The next sweep frees the keys whose window ended ("b"'s).
    storage._next_sweep = 0.0
    rate.check("a")
    assert [key for key in storage.storage if key.endswith("/b/2/1/second")] == []


async def test_a_single_registration_over_the_quota_writes_neither_record_nor_outbox_row(
    db: Database,
) -> None:
    records, _, quotas, acme = await _node(db, Clock(datetime.now(UTC)))
    held = (await quotas.usage(acme))["identifiers"]
    await quotas.set(acme, {"identifiers": held + 1})
    async with db.read() as session:
        outbox_before = await session.scalar(select(func.count()).select_from(OutboxRow))
    # Through the one-statement paths: a whole-record PUT and a one-item SNMS registration.
    assert await records.put(ADMIN, Handle.parse("88.118.8/one"), [URL]) is True
    with pytest.raises(QuotaExceeded):
        await records.put(ADMIN, Handle.parse("88.118.8/two"), [URL])
    with pytest.raises(QuotaExceeded):
        await _bulk(records, "three")
    assert (await quotas.usage(acme))["identifiers"] == held + 1
    async with db.read() as session:
        outbox_after = await session.scalar(select(func.count()).select_from(OutboxRow))
        kept = await session.get(RecordRow, "88.118.8/two")
    assert outbox_after == outbox_before + 1 and kept is None
    # Lifting the quota takes effect at once.
    await quotas.set(acme, {"identifiers": None})
    assert await _bulk(records, "three") == {"88.118.8/three"}
