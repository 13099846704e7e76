"""Batched local reads: many concurrent misses, few statements, the same answers, failures shared."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest

from registry import ADMIN, Handle, HandleValue, Permissions, RecordService, Unavailable
from registry.storage import Database
from resolver import Resolver, handle_body


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
    monkeypatch.setattr(resolver.batcher, "fetch_many", records.db.values_texts)
    assert not (await resolver.lookup(_handle(1), batched=True)).exists


async def test_a_batched_miss_hides_private_values_from_the_anonymous_answer(
    records: RecordService,
) -> None:
    secret = HandleValue(2, "SECRET", "string", "s3cret", permissions=Permissions.parse("1100"))
    await records.put(ADMIN, _handle(1), [HandleValue(1, "URL", "string", "https://x/1"), secret])
    await records.put(ADMIN, _handle(2), [HandleValue(1, "URL", "string", "https://x/2")])
    resolver = Resolver(records)
    both = await asyncio.gather(*(resolver.lookup(_handle(i), batched=True) for i in (1, 2)))
    mixed, public = (resolution.entry for resolution in both)
    assert [v["index"] for v in orjson.loads(mixed.body)["values"]] == [1]
    assert [v["index"] for v in orjson.loads(mixed.answer(True)[1])["values"]] == [1, 2]
    # The answer built straight from the stored text is the one the values would give.
    record = await records.get(_handle(2))
    assert record is not None
    assert public.body == handle_body(str(_handle(2)), record.values)
    assert public.private_text is None and public.record() == record
    assert resolver.batcher.statements == 1


async def test_one_caller_going_away_leaves_the_others_their_answer(
    records: RecordService,
) -> None:
    await records.put(ADMIN, _handle(1), [HandleValue(1, "URL", "string", "https://x/1")])
    resolver = Resolver(records)
    first = asyncio.ensure_future(resolver.lookup(_handle(1), batched=True))
    second = asyncio.ensure_future(resolver.lookup(_handle(1), batched=True))
    await asyncio.sleep(0)
    first.cancel()
    record = (await second).record()
    assert record is not None and record.values[0].value == "https://x/1"
    assert first.cancelled()
    # One read served both (the second waited for the first's).
    assert resolver.reads == 1


async def test_an_invalidation_during_a_batched_read_is_not_undone_by_it(
    records: RecordService,
) -> None:
    await records.put(ADMIN, _handle(1), [HandleValue(1, "URL", "string", "https://x/old")])
    resolver = Resolver(records)
    reading, release = asyncio.Event(), asyncio.Event()

    async def slow(handles: Sequence[str]) -> dict[str, str]:
        texts = await records.db.values_texts(handles)  # read before the write …
        reading.set()
        await release.wait()
        return texts

    resolver.batcher.fetch_many = slow
    before = asyncio.ensure_future(resolver.lookup(_handle(1), batched=True))
    await reading.wait()
    await records.put(ADMIN, _handle(1), [HandleValue(1, "URL", "string", "https://x/new")])
    release.set()
    # … answers whoever asked before the write, but is not kept.
    stale = (await before).record()
    assert stale is not None and stale.values[0].value == "https://x/old"
    assert resolver.cache.fresh(str(_handle(1))) is None
    resolver.batcher.fetch_many = records.db.values_texts
    fresh = (await resolver.lookup(_handle(1), batched=True)).record()
    assert fresh is not None and fresh.values[0].value == "https://x/new"


async def test_an_unreadable_record_fails_only_its_own_lookup(records: RecordService) -> None:
    await records.put(ADMIN, _handle(1), [HandleValue(1, "URL", "string", "https://x/1")])
    resolver = Resolver(records)

    async def one_corrupt(handles: Sequence[str]) -> dict[str, str]:
        texts = await records.db.values_texts(handles)
        return {**texts, str(_handle(2)): "not json"}

    resolver.batcher.fetch_many = one_corrupt
    good, bad = await asyncio.gather(
        *(resolver.lookup(_handle(i), batched=True) for i in (1, 2)), return_exceptions=True
    )
    assert isinstance(bad, ValueError)
    assert not isinstance(good, BaseException) and good.exists
    assert resolver.cache.fresh(str(_handle(2))) is None
