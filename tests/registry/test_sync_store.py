"""The outbox as the shipper sees it: fixed batches, acknowledgement, one shipper at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select

from registry import ADMIN, EnterpriseService, Handle, HandleValue, Prefix, RecordService
from registry.storage import Database, OutboxBatch, SyncStore
from registry.storage.models import OutboxRow
from registry.storage.repository import Outbox

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


def _shipped(batch: OutboxBatch) -> list[tuple[str, str, Any]]:
    changes = orjson.loads(batch.body())["changes"]
    return [(c["kind"], c["subject"], c["payload"].get("values")) for c in changes]


async def test_upserts_ship_the_values_their_record_holds_when_they_ship(db: Database) -> None:
    records = RecordService(db)
    handle = Handle.parse("88.118.8/V")
    await records.put(ADMIN, handle, [URL])
    newer = HandleValue(1, "URL", "string", "https://example.com/newer")
    await records.put(ADMIN, handle, [newer])
    async with db.read() as session:
        stored = [row.payload for row in (await session.execute(select(OutboxRow))).scalars()]
    # The outbox names the record; its values are stored once, in the record.
    assert [orjson.loads(p) for p in stored] == [{"handle": "88.118.8/V"}] * 2
    batch = await SyncStore(db).next_batch(10)
    assert batch is not None
    shipped = _shipped(batch)
    assert [(kind, subject) for kind, subject, _ in shipped] == [
        ("handle.upsert", "88.118.8/V")
    ] * 2
    for _, _, values in shipped:
        assert [v["data"]["value"] for v in values] == ["https://example.com/newer"]


async def test_an_upsert_whose_record_was_deleted_before_it_shipped_ships_as_a_delete(
    db: Database,
) -> None:
    records = RecordService(db)
    await records.put(ADMIN, Handle.parse("88.118.8/GONE"), [URL])
    await records.put(ADMIN, Handle.parse("88.118.8/KEPT"), [URL])
    await records.delete(ADMIN, Handle.parse("88.118.8/GONE"))
    batch = await SyncStore(db).next_batch(10)
    assert batch is not None
    assert [(kind, subject) for kind, subject, _ in _shipped(batch)] == [
        ("handle.delete", "88.118.8/GONE"),
        ("handle.upsert", "88.118.8/KEPT"),
        ("handle.delete", "88.118.8/GONE"),
    ]


async def test_rows_that_carry_their_values_ship_them_as_stored(db: Database) -> None:
    # As an outbox written before upserts named their record holds them.
    carried = [{"index": 1, "type": "URL", "data": {"format": "string", "value": "as-stored"}}]
    async with db.write() as session:
        await Outbox(session).append(
            "handle.upsert",
            "88.118.8/OLD",
            {"handle": "88.118.8/OLD", "values": carried},
            datetime.now(UTC),
        )
    batch = await SyncStore(db).next_batch(10)
    assert batch is not None
    assert _shipped(batch) == [("handle.upsert", "88.118.8/OLD", carried)]
