"""Invalidations between processes over PostgreSQL LISTEN/NOTIFY (two channels, one database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from registry import Handle, HandleValue, RecordWriter
from registry.storage import Database
from resolver import PgInvalidation, _notify
from resolver._notify import MAX_PAYLOAD, _payloads

from ..databases import fresh_database, migrate


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql", tmp_path) as url:
        yield url


async def test_large_batches_arrive_whole_and_own_notices_are_skipped(postgres_url: str) -> None:
    heard: list[Sequence[str] | None] = []
    own: list[Sequence[str] | None] = []
    listener = PgInvalidation(postgres_url, heard.append)
    writer = PgInvalidation(postgres_url, own.append)
    await listener.start()
    await writer.start()
    try:
        assert listener.connected.is_set() and writer.connected.is_set()
        heard.clear()
        own.clear()
        # 2,000 handles of 200 characters: far over one NOTIFY payload's 8,000 bytes.
        handles = [f"88.118.8/{i:04d}-" + "x" * 190 for i in range(2000)]
        await writer.publish(handles)
        async with asyncio.timeout(10):
            while sum(len(batch or ()) for batch in heard) < len(handles):
                await asyncio.sleep(0.01)
        assert [h for batch in heard for h in batch or ()] == handles
        assert own == []
    finally:
        await listener.close()
        await writer.close()


async def test_publishing_without_a_listener_still_reaches_the_others(postgres_url: str) -> None:
    heard: list[Sequence[str] | None] = []
    listener = PgInvalidation(postgres_url, heard.append)
    await listener.start()
    try:
        heard.clear()
        # Not started (as in a CLI command): publishes over a one-off connection.
        await PgInvalidation(postgres_url, lambda _h: None).publish(["88.118.8/CLI"])
        async with asyncio.timeout(10):
            while not heard:
                await asyncio.sleep(0.01)
        assert heard == [["88.118.8/CLI"]]
    finally:
        await listener.close()


async def test_concurrent_publishers_share_one_notify_and_each_returns_once_sent(
    postgres_url: str,
) -> None:
    heard: list[Sequence[str] | None] = []
    listener = PgInvalidation(postgres_url, heard.append)
    writer = PgInvalidation(postgres_url, lambda _h: None)
    await listener.start()
    await writer.start()
    try:
        heard.clear()
        handles = [f"88.118.8/W{i}" for i in range(20)]
        # All 20 are waiting before the first NOTIFY goes: they go as one.
        await asyncio.gather(*(writer.publish([handle]) for handle in handles))
        async with asyncio.timeout(10):
            while sum(len(batch or ()) for batch in heard) < len(handles):
                await asyncio.sleep(0.01)
        assert heard == [handles]
        # And the next one goes on its own, once the first batch is out.
        await writer.publish(["88.118.8/LATER"])
        async with asyncio.timeout(10):
            while len(heard) < 2:
                await asyncio.sleep(0.01)
        assert heard[1] == ["88.118.8/LATER"]
    finally:
        await listener.close()
        await writer.close()


async def test_a_publisher_cancelled_while_waiting_strands_nobody(postgres_url: str) -> None:
    heard: list[Sequence[str] | None] = []
    listener = PgInvalidation(postgres_url, heard.append)
    writer = PgInvalidation(postgres_url, lambda _h: None)
    await listener.start()
    await writer.start()
    try:
        heard.clear()
        first = asyncio.create_task(writer.publish(["88.118.8/A"]))
        second = asyncio.create_task(writer.publish(["88.118.8/B"]))
        await asyncio.sleep(0)
        first.cancel()
        async with asyncio.timeout(10):
            await second
            while sum(len(batch or ()) for batch in heard) < 2:
                await asyncio.sleep(0.01)
        assert [h for batch in heard for h in batch or ()] == ["88.118.8/A", "88.118.8/B"]
    finally:
        await listener.close()
        await writer.close()


async def test_closing_as_a_ping_comes_back_stops_the_listener(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A close whose cancellation reaches the listener just as its ping's answer does: on
    Python 3.11 ``asyncio.wait_for`` returned the answer and dropped the cancellation, and
    the listener pinged on while ``close`` waited for it for ever."""
    closing: list[asyncio.Task[None]] = []

    class ClosedOnPing(asyncpg.Connection):  # type: ignore[misc]
        async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
            status = await super().execute(query, *args, **kwargs)
            if query == "SELECT 1" and not closing:
                # The close starts in the turn the answer is read, before the listener
                # resumes with it.
                loop = asyncio.get_running_loop()
                loop.call_soon(lambda: closing.append(asyncio.ensure_future(listener.close())))
            return status

    real_connect = _notify.asyncpg.connect
    monkeypatch.setattr(
        _notify.asyncpg,
        "connect",
        lambda *args, **kwargs: real_connect(*args, connection_class=ClosedOnPing, **kwargs),
    )
    monkeypatch.setattr(_notify, "PING_SECONDS", 0.05)
    listener = PgInvalidation(postgres_url, lambda _h: None)
    await listener.start()
    async with asyncio.timeout(10):
        while not closing:
            await asyncio.sleep(0.01)
    done, _ = await asyncio.wait(closing, timeout=5)
    assert done, "close() did not return: the listener swallowed its cancellation"
    assert listener._task is None and listener._connection is None


class _Channels:
    """A writer whose transactions announce over ``own``, and another process's ``other``."""

    def __init__(self, db: Database, url: str) -> None:
        self.heard: list[Sequence[str] | None] = []
        self.own_heard: list[Sequence[str] | None] = []
        self.other = PgInvalidation(url, self.heard.append)
        self.own = PgInvalidation(url, self.own_heard.append)
        self.writer = RecordWriter(db)
        self.writer.set_announcer(self.own.announce, self.own.publish)
        # What the writer's listeners (this process's caches) were told, a list per change.
        self.told: list[list[str]] = []
        self.writer.add_listener(self._tell)

    async def _tell(self, handles: Sequence[str]) -> None:
        self.told.append(list(handles))

    async def __aenter__(self) -> _Channels:
        await self.other.start()
        await self.own.start()
        assert self.other.connected.is_set() and self.own.connected.is_set()
        self.heard.clear()
        self.own_heard.clear()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.other.close()
        await self.own.close()

    async def put(self, handle: str, *, alone: bool = False) -> None:
        async with self.writer.transaction(alone=alone) as tx:
            await tx.put(Handle.parse(handle), [URL], None, new=True)

    async def heard_until(self, handle: str) -> list[str]:
        """Every handle the other process heard of, up to and including ``handle``."""
        async with asyncio.timeout(10):
            while handle not in [h for batch in self.heard for h in batch or ()]:
                await asyncio.sleep(0.01)
        return [h for batch in self.heard for h in batch or ()]


URL = HandleValue(1, "URL", "string", "https://example.com/")


async def test_a_write_notifies_the_others_with_its_commit_not_its_own_process(
    postgres_url: str,
) -> None:
    db = Database(await migrate(postgres_url))
    try:
        async with _Channels(db, postgres_url) as channels:
            await asyncio.gather(*(channels.put(f"88.118.8/N{n}") for n in range(5)))
            await channels.put("88.118.8/BULK", alone=True)
            heard = await channels.heard_until("88.118.8/BULK")
            assert sorted(heard) == sorted([f"88.118.8/N{n}" for n in range(5)] + ["88.118.8/BULK"])
            assert channels.own_heard == []
    finally:
        await db.dispose()


async def test_a_new_record_committed_alone_is_announced_after_its_commit(
    postgres_url: str,
) -> None:
    """``insert_alone`` commits one statement with no NOTIFY in it (PostgreSQL would commit such
    statements one at a time); the others hear of it from ``publish`` before it returns."""
    db = Database(await migrate(postgres_url))
    try:
        async with _Channels(db, postgres_url) as channels:
            told = channels.told
            now = datetime.now(UTC)
            handles = [Handle.parse(f"88.118.8/ALONE{n}") for n in range(3)]
            done = await asyncio.gather(
                *(channels.writer.insert_alone(h, "[]", None, now=now) for h in handles)
            )
            assert done == [True] * 3
            assert sorted(told) == [[str(h)] for h in handles]
            # Each insert sent its NOTIFY before returning, in whatever order the three
            # finished: each one is heard, the last sent not necessarily the last handle.
            for handle in handles:
                heard = await channels.heard_until(str(handle))
            assert sorted(set(heard)) == [str(h) for h in handles]
            # A handle that exists: nothing written, nobody told.
            assert await channels.writer.insert_alone(handles[0], "[]", None, now=now) is False
            assert len(told) == 3
            assert channels.own_heard == []
    finally:
        await db.dispose()


async def test_a_change_outside_a_write_reaches_the_others_and_the_listeners(
    postgres_url: str,
) -> None:
    """``writer.notify`` (a credential changed, a session ended) goes to the other processes
    too, although no write transaction carries it."""
    db = Database(await migrate(postgres_url))
    try:
        async with _Channels(db, postgres_url) as channels:
            told = channels.told
            await channels.writer.notify(["88.118.8/ADMIN"])
            assert told == [["88.118.8/ADMIN"]]
            assert await channels.heard_until("88.118.8/ADMIN") == ["88.118.8/ADMIN"]
            assert channels.own_heard == []
    finally:
        await db.dispose()


async def test_a_rolled_back_write_notifies_nobody(postgres_url: str) -> None:
    db = Database(await migrate(postgres_url))
    try:
        async with _Channels(db, postgres_url) as channels:
            # A block that raises after its write, alone and as a batch's member.
            for alone in (False, True):
                with pytest.raises(RuntimeError):
                    async with channels.writer.transaction(alone=alone) as tx:
                        await tx.put(Handle.parse(f"88.118.8/RAISED{alone}"), [URL], None, new=True)
                        raise RuntimeError("changed my mind")

            # A COMMIT that fails after the NOTIFY was sent in the transaction.
            def refuse(_connection: Any) -> None:
                raise RuntimeError("the commit fails")

            event.listen(db.engine.sync_engine, "commit", refuse)
            try:
                with pytest.raises(RuntimeError):
                    await channels.put("88.118.8/UNCOMMITTED")
                with pytest.raises(RuntimeError):
                    await channels.put("88.118.8/UNCOMMITTED-BULK", alone=True)
            finally:
                event.remove(db.engine.sync_engine, "commit", refuse)
            # NOTIFYs arrive in commit order: once this one is heard, none other is coming.
            await channels.put("88.118.8/AFTER")
            assert await channels.heard_until("88.118.8/AFTER") == ["88.118.8/AFTER"]
    finally:
        await db.dispose()


def test_announced_payloads_lead_with_the_origin_and_stay_under_the_limit() -> None:
    handles = [f"88.118.8/{i:04d}-" + "x" * 190 for i in range(100)]
    payloads = _payloads(handles, "@origin")
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD and p.startswith("@origin\n") for p in payloads)
    assert [h for p in payloads for h in p.split("\n")[1:]] == handles
    assert _payloads([], "@origin") == []
