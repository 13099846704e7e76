"""Batched local reads: many concurrent misses, few statements, the same answers, failures shared."""

from __future__ import annotations

import asyncio

import pytest

from registry import ADMIN, Handle, HandleValue, RecordService, Unavailable
from registry.storage import Database
from resolver import Resolver


@pytest.fixture
def records(db: Database) -> RecordService:
    return RecordService(db)


def _handle(i: int) -> Handle:
    return Handle.parse(f"88.118.8/B{i}")


async def test_get_many_reads_only_what_exists(records: RecordService) -> None:
    for i in range(3):
        await records.put(ADMIN, _handle(i), [HandleValue(1, "URL", "string", f"https://x/{i}")])
    found = await records.get_many([_handle(i) for i in range(5)])
    assert sorted(found) == [str(_handle(i)) for i in range(3)]
    assert found[str(_handle(2))].values[0].value == "https://x/2"
    assert await records.get_many([]) == {}


async def test_concurrent_batched_misses_share_statements_and_answer_each(
    records: RecordService,
) -> None:
    for i in range(0, 60, 2):
        await records.put(ADMIN, _handle(i), [HandleValue(1, "URL", "string", f"https://x/{i}")])
    resolver = Resolver(records)
    answers = await asyncio.gather(*(resolver.lookup(_handle(i), batched=True) for i in range(60)))
    for i, answer in enumerate(answers):
        record = answer.record()
        if i % 2:
            assert record is None
        else:
            assert record is not None and record.values[0].value == f"https://x/{i}"
    assert resolver.reads == 60
    assert resolver.batcher.statements < 10
    # Cached like any other answer.
    assert (await resolver.lookup(_handle(0), batched=True)).entry is answers[0].entry


async def test_a_failed_batch_fails_each_of_its_lookups(
    records: RecordService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(handles: object) -> dict:
        raise Unavailable("storage is down")

    resolver = Resolver(records)
    monkeypatch.setattr(resolver.batcher, "fetch_many", down)
    results = await asyncio.gather(
        *(resolver.lookup(_handle(i), batched=True) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, Unavailable) for result in results)
    # The batcher is not stuck: the next batch reads again.
    monkeypatch.setattr(resolver.batcher, "fetch_many", records.get_many)
    assert not (await resolver.lookup(_handle(1), batched=True)).exists
