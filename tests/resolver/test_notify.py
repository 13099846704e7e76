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
