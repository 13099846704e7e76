"""Invalidations between processes over PostgreSQL LISTEN/NOTIFY (two channels, one database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from resolver import PgInvalidation

from ..databases import fresh_database


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
