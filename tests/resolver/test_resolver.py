"""The resolution engine over real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from registry import ADMIN, Handle, HandleValue, Prefix, Record, RecordService, Unavailable
from registry.storage import Database
from resolver import CacheConfig, Resolver

HANDLE = Handle.parse("88.118.8/P1")


def url_value(text: str, ttl: int = 86400) -> HandleValue:
    return HandleValue(1, "URL", "string", text, ttl)


@pytest.fixture
def records(db: Database) -> RecordService:
    return RecordService(db)


async def test_misses_once_then_serves_from_cache(records: RecordService) -> None:
    resolver = Resolver(records)
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a")])
    first = await resolver.lookup(HANDLE)
    second = await resolver.lookup(HANDLE)
    assert first.exists and second.entry is first.entry
    assert resolver.reads == 1
    assert resolver.hot(str(HANDLE)) is first.entry


async def test_a_filtered_answer_kept_is_weighed_in_the_cache(records: RecordService) -> None:
    resolver = Resolver(records)
    email = HandleValue(2, "EMAIL", "string", "qa@example.com")
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a"), email])
    entry = (await resolver.lookup(HANDLE)).entry
    before = resolver.cache.bytes
    status, body = resolver.answer(entry, False, types=["EMAIL"])
    assert status == 200 and b"qa@example.com" in body and b"example.com/a" not in body
    assert entry.variants == 1 and resolver.cache.bytes >= before + len(body)


async def test_a_handle_is_seen_registered_while_its_positive_answer_is_held(
    records: RecordService,
) -> None:
    resolver = Resolver(records, config=CacheConfig(negative_ttl=3600))
    key = str(HANDLE)
    assert not resolver.seen(key)
    await resolver.lookup(HANDLE)
    # A held "not found" is not "seen registered".
    assert not resolver.seen(key)
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a", ttl=0)])
    await resolver.lookup(HANDLE)
    # Past its TTL but held: still a good hint for a writer.
    assert resolver.hot(key) is None and resolver.seen(key)
    await records.delete(ADMIN, HANDLE)
    assert not resolver.seen(key)


async def test_concurrent_misses_coalesce_into_one_read(records: RecordService) -> None:
    resolver = Resolver(records)
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a")])
    answers = await asyncio.gather(*(resolver.lookup(HANDLE) for _ in range(50)))
    assert resolver.reads == 1
    assert {id(answer.entry) for answer in answers} == {id(answers[0].entry)}


async def test_not_found_is_cached_and_a_write_invalidates_it(records: RecordService) -> None:
    resolver = Resolver(records, config=CacheConfig(negative_ttl=3600))
    assert not (await resolver.lookup(HANDLE)).exists
    assert not (await resolver.lookup(HANDLE)).exists
    assert resolver.reads == 1
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a")])
    record = await resolver.resolve(HANDLE)
    assert record is not None and record.values[0].value == "https://example.com/a"


async def test_every_write_path_invalidates_before_it_returns(records: RecordService) -> None:
    resolver = Resolver(records)
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a")])
    await resolver.resolve(HANDLE)
    await records.put(
        ADMIN, HANDLE, [HandleValue(2, "EMAIL", "string", "a@example.com")], indexes=[2]
    )
    assert [v.index for v in (await resolver.resolve(HANDLE)).values] == [1, 2]
    await records.delete(ADMIN, HANDLE, [2])
    assert [v.index for v in (await resolver.resolve(HANDLE)).values] == [1]
    await records.delete(ADMIN, HANDLE)
    assert await resolver.resolve(HANDLE) is None


async def test_ttl_is_the_smallest_value_ttl(records: RecordService) -> None:
    now = [0.0]
    resolver = Resolver(records, clock=lambda: now[0])
    await records.put(
        ADMIN,
        HANDLE,
        [url_value("https://example.com/a", ttl=30), HandleValue(2, "DESC", "string", "d", 600)],
    )
    await resolver.lookup(HANDLE)
    now[0] = 29
    await resolver.lookup(HANDLE)
    assert resolver.reads == 1
    now[0] = 31
    await resolver.lookup(HANDLE)
    assert resolver.reads == 2


async def test_stale_entry_answers_while_storage_is_down(records: RecordService) -> None:
    now = [0.0]
    resolver = Resolver(records, config=CacheConfig(stale_seconds=100), clock=lambda: now[0])
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a", ttl=10)])
    await resolver.lookup(HANDLE)
    # Storage that refuses connections: nothing listens on port 1.
    down = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    resolver.records = RecordService(down)
    try:
        now[0] = 50
        stale = await resolver.lookup(HANDLE)
        assert stale.stale and stale.stale_age == 50 and stale.exists
        with pytest.raises(Unavailable):
            await resolver.lookup(Handle.parse("88.118.8/never-cached"))
        now[0] = 200
        with pytest.raises(Unavailable):
            await resolver.lookup(HANDLE)
    finally:
        await down.dispose()


async def test_answer_read_before_an_invalidation_is_not_cached(records: RecordService) -> None:
    release = asyncio.Event()

    async def slow_remote(handle: Handle) -> Record | None:
        await release.wait()
        return Record(handle, (url_value("https://old.example.com"),))

    foreign = Handle.parse("88.119.5/X")
    resolver = Resolver(records, node_code=Prefix.parse("88.118"), remote=slow_remote)
    reading = asyncio.create_task(resolver.lookup(foreign))
    await asyncio.sleep(0)
    resolver.invalidate([str(foreign)])
    release.set()
    assert (await reading).exists
    assert resolver.hot(str(foreign)) is None


async def test_forwarded_lookups_do_not_recurse(records: RecordService) -> None:
    async def remote(handle: Handle) -> Record | None:
        raise AssertionError("a forwarded lookup must not leave this node")

    resolver = Resolver(records, node_code=Prefix.parse("88.118"), remote=remote)
    assert not (await resolver.lookup(Handle.parse("88.119.5/X"), recursive=False)).exists
    await records.put(ADMIN, HANDLE, [url_value("https://example.com/a")])
    assert (await resolver.lookup(HANDLE, recursive=False)).exists


async def test_stats_count_resolutions_and_cache_hits(db) -> None:
    from registry import ADMIN, Handle, HandleValue, RecordService
    from resolver import Resolver

    records = RecordService(db)
    resolver = Resolver(records)
    handle = Handle.parse("88.118.8/STATS")
    await records.put(ADMIN, handle, [HandleValue(1, "URL", "string", "https://example.com/")])
    assert resolver.stats() == {"resolutions": 0, "cacheHitRatio": 0.0}
    for _ in range(4):
        await resolver.lookup(handle)
    assert resolver.hot(str(handle)) is not None
    assert resolver.stats() == {"resolutions": 5, "cacheHitRatio": 0.8}
