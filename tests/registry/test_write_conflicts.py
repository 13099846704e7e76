"""A group-commit batch and a bulk write locking the same handles in crossing order.

PostgreSQL aborts one of them (deadlock_detected, 40P01): its caller gets ``Unavailable`` (a
503 with Retry-After, never a 500), the other commits, and nothing of the victim is written.
Which one PostgreSQL aborts is the one whose ``deadlock_timeout`` runs out first: each test
picks its victim by shortening the victim's.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from registry import Handle, HandleValue, RecordWriter, Unavailable
from registry.storage import Database
from registry.storage.models import OutboxRow, RecordRow

A, B, C = (Handle.parse(f"88.118.9/D{n}") for n in "ABC")


def _url(who: str) -> HandleValue:
    return HandleValue(1, "URL", "string", f"https://{who}.example/")


async def _seed(writer: RecordWriter) -> None:
    async with writer.transaction(alone=True) as tx:
        for handle in (A, B):
            await tx.put(handle, [_url("seed")], None, new=True)


async def _written_by(db: Database) -> dict[str, str]:
    """Each record's writer, as its URL names it."""
    async with db.read() as session:
        rows = (await session.execute(select(RecordRow.handle, RecordRow.values))).all()
    return {
        handle: next(who for who in ("seed", "bulk", "member", "other") if who in values)
        for handle, values in rows
    }


async def _outboxed(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.execute(select(OutboxRow.subject))).scalars())


async def _victim(session: object, milliseconds: int) -> None:
    await session.execute(text(f"SET LOCAL deadlock_timeout = '{milliseconds}ms'"))  # type: ignore[attr-defined]


class Crossing:
    """Two writers, one locking A then B, the other B then A, each waiting for the other."""

    def __init__(self) -> None:
        self.a_locked = asyncio.Event()
        self.b_locked = asyncio.Event()

    async def member(self, writer: RecordWriter, *, victim: bool) -> None:
        async with writer.transaction() as tx:
            await _victim(tx.session, 50 if victim else 20_000)
            await tx.put(A, [_url("member")], None, new=False)
            self.a_locked.set()
            await self.b_locked.wait()
            await tx.put(B, [_url("member")], None, new=False)

    async def bulk(self, writer: RecordWriter, *, victim: bool) -> None:
        async with writer.transaction(alone=True) as tx:
            await _victim(tx.session, 50 if victim else 20_000)
            await tx.put(B, [_url("bulk")], None, new=False)
            self.b_locked.set()
            await self.a_locked.wait()
            await tx.put(A, [_url("bulk")], None, new=False)


# SQLite takes one writer at a time: no deadlock between two of them.
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@POSTGRESQL_ONLY
async def test_a_deadlocked_bulk_write_fails_as_unavailable_and_the_batch_commits(
    db: Database,
) -> None:
    writer = RecordWriter(db)
    await _seed(writer)
    crossing = Crossing()
    member, bulk = await asyncio.wait_for(
        asyncio.gather(
            crossing.member(writer, victim=False),
            crossing.bulk(writer, victim=True),
            return_exceptions=True,
        ),
        30,
    )
    assert member is None
    assert isinstance(bulk, Unavailable), bulk
    assert "40P01" in bulk.message
    assert await _written_by(db) == {str(A): "member", str(B): "member"}


@POSTGRESQL_ONLY
async def test_a_deadlocked_first_member_fails_as_unavailable_and_the_bulk_write_commits(
    db: Database,
) -> None:
    writer = RecordWriter(db)
    await _seed(writer)
    before = await _outboxed(db)
    crossing = Crossing()
    member, bulk = await asyncio.wait_for(
        asyncio.gather(
            crossing.member(writer, victim=True),
            crossing.bulk(writer, victim=False),
            return_exceptions=True,
        ),
        30,
    )
    assert isinstance(member, Unavailable), member
    assert bulk is None
    assert await _written_by(db) == {str(A): "bulk", str(B): "bulk"}
    # The bulk write's two outbox rows; none of the member's.
    assert len(await _outboxed(db)) == len(before) + 2


@POSTGRESQL_ONLY
async def test_a_member_deadlocked_in_its_savepoint_fails_alone_and_the_batch_commits(
    db: Database,
) -> None:
    """The victim is the batch's second member: its savepoint rolls back (releasing its lock
    on A, so the bulk write goes on); the first member's write commits with the batch."""
    writer = RecordWriter(db)
    await _seed(writer)
    crossing = Crossing()

    async def first() -> None:
        async with writer.transaction() as tx:
            await tx.put(C, [_url("other")], None, new=True)

    results = await asyncio.wait_for(
        asyncio.gather(
            first(),
            crossing.member(writer, victim=True),
            crossing.bulk(writer, victim=False),
            return_exceptions=True,
        ),
        30,
    )
    assert results[0] is None
    assert isinstance(results[1], Unavailable), results[1]
    assert results[2] is None
    assert await _written_by(db) == {str(A): "bulk", str(B): "bulk", str(C): "other"}
    assert (await _outboxed(db)).count(str(C)) == 1
