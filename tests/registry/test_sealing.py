"""A large batch is sealed in worker threads: every record with its own seal, results in order."""

from __future__ import annotations

import threading

import orjson
from sqlalchemy import select

from registry import (
    ADMIN,
    BatchService,
    Database,
    Handle,
    HandleValue,
    InvalidValue,
    RecordDraft,
    RecordService,
    TemplateService,
)
from registry._models import OutboxRow, RecordRow
from registry._sealing import seal_many

URL = HandleValue(1, "URL", "string", "https://example.com")


def _sealer(threads: set[str]):
    def seal(handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
        threads.add(threading.current_thread().name)
        if handle.suffix.startswith("BAD"):
            raise InvalidValue(f"cannot seal {handle}", handle=str(handle))
        return [*values, HandleValue(400, "HS_SIGNATURE", "string", f"sig:{handle}")]

    return seal


async def test_a_large_batch_is_sealed_per_record_in_order_with_refusals_kept(db: Database):
    records = RecordService(db)
    threads: set[str] = set()
    records.add_sealer(_sealer(threads))
    batches = BatchService(db, records, TemplateService(db))
    names = [f"BAD{n}" if n in (5, 150) else f"N{n}" for n in range(300)]
    drafts = [RecordDraft(Handle.parse(f"88.118.8/{name}"), (URL,)) for name in names]

    results = await batches.create_many(ADMIN, drafts)

    assert [i for i, result in enumerate(results) if result is not None] == [5, 150]
    assert results[5].message == "cannot seal 88.118.8/BAD5"
    assert results[150].message == "cannot seal 88.118.8/BAD150"
    async with db.read() as session:
        rows = {row.handle: row for row in (await session.execute(select(RecordRow))).scalars()}
        outbox = [row.subject for row in (await session.execute(select(OutboxRow))).scalars()]
    assert len(rows) == 298 and "88.118.8/BAD5" not in rows
    for key, row in rows.items():
        values = orjson.loads(row.values)
        assert [v["type"] for v in values] == ["URL", "HS_SIGNATURE"]
        assert values[1]["data"]["value"] == f"sig:{key}"
    assert sorted(outbox) == sorted(rows)
    # Sealed in worker threads, off the event loop's thread.
    assert threads and threading.current_thread().name not in threads


async def test_without_a_sealer_or_for_a_small_batch_nothing_leaves_the_calling_thread(
    db: Database,
):
    records = RecordService(db)
    items = [(Handle.parse(f"88.118.8/N{n}"), [URL]) for n in range(200)]
    assert await seal_many(records, items) == [[URL]] * 200
    threads: set[str] = set()
    records.add_sealer(_sealer(threads))
    sealed = await seal_many(records, items[:3])
    assert threads == {threading.current_thread().name}
    assert [values[-1].value for values in sealed] == [f"sig:88.118.8/N{n}" for n in range(3)]
