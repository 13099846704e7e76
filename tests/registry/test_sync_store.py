"""The outbox as the shipper sees it: fixed batches, acknowledgement, one shipper at a time."""

from __future__ import annotations

import orjson

from registry import (
    ADMIN,
    Database,
    EnterpriseService,
    Handle,
    HandleValue,
    Prefix,
    RecordService,
    SyncStore,
)

URL = HandleValue(1, "URL", "string", "https://example.com/")


async def _register(db: Database, count: int) -> list[str]:
    records = RecordService(db)
    await EnterpriseService(db, records, Prefix.parse("88.118")).create("Acme", "88.118.8")
    handles = [f"88.118.8/S{i}" for i in range(count)]
    for handle in handles:
        await records.put(ADMIN, Handle.parse(handle), [URL])
    return handles


async def test_a_batch_is_fixed_until_acknowledged(db: Database) -> None:
    handles = await _register(db, 5)
    store = SyncStore(db)
    first = await store.next_batch(3)
    assert first is not None and first.seq == 1
    assert [c["kind"] for c in first.changes] == ["prefix.create", "handle.upsert", "handle.upsert"]
    # Asked again (a retry, or a restart), the same batch comes back with the same number.
    again = await store.next_batch(100)
    assert again is not None and again.seq == 1
    assert orjson.loads(again.body()) == orjson.loads(first.body())

    assert await store.acknowledge(1)
    assert not await store.acknowledge(1)
    second = await store.next_batch(100)
    assert second is not None and second.seq == 2
    assert [c["subject"] for c in second.changes] == handles[1:]
    assert await store.acknowledge(2)
    assert await store.next_batch(100) is None

    status = await store.status()
    assert status["pendingRows"] == 0 and status["lastAckedSeq"] == 2
    assert status["shippedRows"] == 7 and status["lastError"] is None


async def test_status_reports_lag_and_the_last_error(db: Database) -> None:
    await _register(db, 2)
    store = SyncStore(db)
    await store.record_error("top-level node is unreachable")
    status = await store.status()
    assert status["pendingRows"] == 4 and status["lagSeconds"] >= 0
    assert status["lastError"] == "top-level node is unreachable"
    batch = await store.next_batch(10)
    assert batch is not None and (await store.status())["inflightSeq"] == 1
    await store.acknowledge(batch.seq)
    assert (await store.status())["lastError"] is None


async def test_only_one_shipper_leads_at_a_time(db: Database) -> None:
    store = SyncStore(db)
    other = SyncStore(Database(db.url))
    try:
        lease = await store.try_lead()
        assert lease is not None
        assert await other.try_lead() is None
        await lease.release()
        taken = await other.try_lead()
        assert taken is not None
        await taken.release()
    finally:
        await other.db.dispose()
