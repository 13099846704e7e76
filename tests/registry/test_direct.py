"""PostgreSQL's hottest statements without SQLAlchemy. The resolution read: same answers as the
ORM path, one statement for many, a dropped connection replaced once, an unreachable server
``Unavailable``. A single new record: record and outbox row in one statement (no NOTIFY), or
nothing at all when the handle exists, a quota may apply or the template changed; never retried.
New records of one moment: statements shared, each told its own outcome, a refused record failing
alone, a shared statement cut midway failing each of its writers and writing nothing, a write
stalled on a held row holding nobody up, writes stalled in numbers leaving reads their
connections. A record seen registered: changed with no insert tried first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from registry import (
    ADMIN,
    Handle,
    HandleValue,
    RecordService,
    Unavailable,
)
from registry.storage import Database
from registry.storage.direct import READ_RESERVE, PgDirect
from registry.storage.models import OutboxRow, RecordRow
from resolver._notify import CHANNEL

from ..databases import fresh_database, lock_waiters, migrate
from ..servers import free_port
from .single_writes import holding, new_record, quota_node

HANDLE = Handle.parse("88.118.8/POINT-1")


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database("postgresql", tmp_path) as url:
        db = Database(await migrate(url))
        try:
            yield db
        finally:
            await db.dispose()


@pytest.fixture
def direct(pg: Database) -> PgDirect:
    """``pg``'s direct driver path (PostgreSQL always has one)."""
    assert pg._direct is not None
    return pg._direct


async def test_reads_what_was_written_and_nothing_for_a_missing_handle(pg: Database) -> None:
    records = RecordService(pg)
    await records.put(ADMIN, HANDLE, [HandleValue(1, "URL", "string", "https://e.example/")])
    record = await records.get(HANDLE)
    assert record is not None and record.values[0].value == "https://e.example/"
    assert await records.get(Handle.parse("88.118.8/NOPE")) is None
    many = await records.get_many([HANDLE, Handle.parse("88.118.8/NOPE")])
    assert list(many) == [str(HANDLE)]
    assert pg._direct is not None  # the PostgreSQL path was the one taken


async def test_a_connection_the_server_dropped_is_replaced_and_the_read_retried(
    pg: Database,
) -> None:
    records = RecordService(pg)
    await records.put(ADMIN, HANDLE, [HandleValue(1, "URL", "string", "https://e.example/")])
    assert await records.get(HANDLE) is not None
    points = pg._direct
    assert points is not None
    admin = await asyncpg.connect(points.dsn)
    try:
        # Every idle pooled connection of the lookup pool killed, as a server restart would.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert await records.get(HANDLE) is not None


async def test_an_unreachable_server_is_unavailable() -> None:
    points = PgDirect(
        f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none", connect_timeout=1
    )
    try:
        with pytest.raises(Unavailable, match="storage is unavailable"):
            await points.values_text("88.118.8/X")
    finally:
        await points.close()


async def _waiting_insert(watcher: asyncpg.Connection, *, shared: bool = False) -> int:
    """The backend of the insert (``shared``: of several records) waiting on a held row."""
    async with asyncio.timeout(10):
        while not (waiting := await lock_waiters(watcher, "%unnest%" if shared else "%INSERT%")):
            await asyncio.sleep(0.01)
    return waiting[0]


async def _rows(db: Database) -> tuple[list[str], list[str]]:
    async with db.read() as session:
        records = list((await session.execute(select(RecordRow.handle))).scalars())
        outbox = list((await session.execute(select(OutboxRow.subject))).scalars())
    return sorted(records), outbox


async def test_a_new_record_is_one_statement_with_its_outbox_row_and_no_notify(
    pg: Database,
    direct: PgDirect,
) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(direct.dsn)
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    try:
        assert await direct.insert_new(new_record("88.118.8/D1")) == (True, False)
        # The same handle again writes nothing and raises nothing.
        assert await direct.insert_new(new_record("88.118.8/D1")) == (False, False)
        assert await direct.insert_new(new_record("88.118.8/D2")) == (True, False)
        await listener.execute(f"NOTIFY {CHANNEL}, 'marker'")
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
    finally:
        await listener.close()
    # A NOTIFY would serialize concurrent single writes' commits: the writer publishes after.
    assert heard == ["marker"]
    assert await _rows(pg) == (["88.118.8/D1", "88.118.8/D2"], ["88.118.8/D1", "88.118.8/D2"])


async def test_a_new_record_under_a_quota_or_a_changed_template_writes_nothing(
    pg: Database,
    direct: PgDirect,
) -> None:
    _, quotas, acme = await quota_node(pg)
    before = await _rows(pg)
    # No quota yet: a record goes in. With one, nothing does: only a transaction checks it.
    assert await direct.insert_new(new_record("88.118.9/Q1")) == (True, False)
    await quotas.set(acme, {"identifiers": 10})
    assert await direct.insert_new(new_record("88.118.9/Q2")) == (False, True)
    # Guarded by a template that is not stored as that text (not stored at all): nothing either.
    guarded = new_record("88.118.8/T1", template_version="1.0", template_body="{}")
    assert await direct.insert_new(guarded) == (False, False)
    records_after, outbox_after = await _rows(pg)
    assert records_after == sorted([*before[0], "88.118.9/Q1"])
    assert outbox_after == [*before[1], "88.118.9/Q1"]


async def test_new_records_of_one_moment_go_in_together_each_told_its_own_outcome(
    pg: Database,
    direct: PgDirect,
) -> None:
    _, quotas, acme = await quota_node(pg)
    await quotas.set(acme, {"identifiers": 10})
    assert await direct.insert_new(new_record("88.118.8/M0")) == (True, False)
    before_records, before_outbox = await _rows(pg)
    statements = direct.inserts.statements
    # New ones, one that exists, one twice, one whose prefix has a quota, one whose template
    # is not stored: submitted at once, in no particular order.
    handles = [f"88.118.8/M{i}" for i in (7, 3, 9, 1, 5, 2, 8, 4, 6)]
    records = [new_record(handle) for handle in handles]
    records += [
        new_record("88.118.8/M0"),
        new_record("88.118.8/M5"),
        new_record("88.118.9/M1"),
        new_record("88.118.8/MT", template_version="1.0", template_body="{}"),
    ]
    items = direct.inserts.items
    results = await asyncio.gather(*(direct.insert_new(record) for record in records))
    # M5 twice: one of the two writes put it in, the other found it there (which one is a
    # race between two statements: a second write of a handle goes into another one).
    assert sorted([results[4], results[10]]) == [(False, False), (True, False)]
    assert results[:4] + results[5:9] == [(True, False)] * 8
    assert results[9] == (False, False)
    assert results[11:] == [(False, True), (False, False)]
    # The first few ran at once, each alone; the rest shared statements.
    assert direct.inserts.items - items == len(records)
    assert direct.inserts.statements - statements < len(records) - 2
    records_after, outbox_after = await _rows(pg)
    assert records_after == sorted([*before_records, *handles])
    # One outbox row per record that went in, none for the others.
    assert sorted(outbox_after) == sorted([*before_outbox, *handles])


async def test_a_record_the_server_refuses_fails_alone_and_its_neighbours_go_in(
    pg: Database,
    direct: PgDirect,
) -> None:
    before_records, before_outbox = await _rows(pg)
    good = [new_record(f"88.118.8/R{i}") for i in range(6)]
    # An outbox kind longer than its column: the server refuses the statement it is in.
    bad = new_record("88.118.8/RBAD", kind="k" * 40)
    # One statement at a time: the first runs alone, the other six share the next.
    direct.inserts.max_running = 1
    statements = direct.inserts.statements
    results = await asyncio.gather(
        *(direct.insert_new(record) for record in [*good[:3], bad, *good[3:]]),
        return_exceptions=True,
    )
    assert direct.inserts.statements - statements == 2
    assert isinstance(results[3], asyncpg.StringDataRightTruncationError)
    assert [result for i, result in enumerate(results) if i != 3] == [(True, False)] * 6
    records_after, outbox_after = await _rows(pg)
    assert records_after == sorted([*before_records, *(record.handle for record in good)])
    assert sorted(outbox_after) == sorted([*before_outbox, *(record.handle for record in good)])


async def test_a_write_waiting_on_a_row_held_elsewhere_does_not_hold_up_the_others(
    pg: Database,
    direct: PgDirect,
) -> None:
    holder = await asyncpg.connect(direct.dsn)
    # One statement at a time, so that only the stall lets the others past.
    direct.inserts.max_running = 1
    try:
        # An import's transaction holds a new handle, not yet committed: a single write of the
        # same handle waits on it.
        held = await holding(holder, "88.118.8/H1")
        waiting = asyncio.create_task(direct.insert_new(new_record("88.118.8/H1")))
        await asyncio.sleep(0.01)
        # Other writes go in meanwhile, once the waiting statement has stalled.
        others = [new_record(f"88.118.8/H{i}") for i in range(2, 6)]
        async with asyncio.timeout(5):
            results = await asyncio.gather(*(direct.insert_new(record) for record in others))
        assert results == [(True, False)] * 4
        assert not waiting.done()
        assert direct.inserts.stalls >= 1
        await held.rollback()
        assert await asyncio.wait_for(waiting, 5) == (True, False)
    finally:
        await holder.close()


async def test_inserts_waiting_on_held_rows_leave_reads_their_connections(
    pg: Database,
    direct: PgDirect,
) -> None:
    holder, watcher = await asyncpg.connect(direct.dsn), await asyncpg.connect(direct.dsn)
    share = direct.size - READ_RESERVE
    try:
        # A client retrying one handle an import holds uncommitted: each write is a statement
        # of its own (a handle is never twice in one), each stalls on the held row.
        held = await holding(holder, "88.118.8/R1")
        writes = [
            asyncio.create_task(direct.insert_new(new_record("88.118.8/R1")))
            for _ in range(direct.size + 4)
        ]
        async with asyncio.timeout(10):
            while len(await lock_waiters(watcher)) < share:
                await asyncio.sleep(0.02)
        # Every stall has had time to start another statement: none took a reader's connection.
        await asyncio.sleep(0.3)
        assert len(await lock_waiters(watcher)) == share
        async with asyncio.timeout(5):
            assert await direct.values_text("88.118.8/R1") is None
            assert await direct.values_texts(["88.118.8/R1", "88.118.8/R2"]) == {}
        # Past a statement's time, a write still waiting for a connection is told so.
        direct.statement_timeout = 0.2
        with pytest.raises(Unavailable, match="storage is busy"):
            await direct.insert_new(new_record("88.118.8/R1"))
        direct.statement_timeout = 15.0
        assert not any(write.done() for write in writes)
        await held.rollback()
        async with asyncio.timeout(10):
            results = await asyncio.gather(*writes)
        # Exactly one of them created it; the others found it there.
        assert sorted(results) == [(False, False)] * (len(writes) - 1) + [(True, False)]
    finally:
        await holder.close()
        await watcher.close()
    assert await _rows(pg) == (["88.118.8/R1"], ["88.118.8/R1"])


async def test_a_new_record_whose_connection_dies_mid_statement_is_unavailable_and_not_retried(
    pg: Database,
    direct: PgDirect,
) -> None:
    holder, watcher = await asyncpg.connect(direct.dsn), await asyncpg.connect(direct.dsn)
    try:
        # Another transaction holds the same new handle uncommitted: our insert waits on it.
        held = await holding(holder, "88.118.8/K1")
        write = asyncio.create_task(direct.insert_new(new_record("88.118.8/K1")))
        await watcher.execute("SELECT pg_terminate_backend($1)", await _waiting_insert(watcher))
        # Its row then free, a retry would insert it: a write that may have committed is
        # never sent twice, it is unavailable.
        await held.rollback()
        with pytest.raises(Unavailable, match="storage is unavailable"):
            await write
    finally:
        await holder.close()
        await watcher.close()
    assert await _rows(pg) == ([], [])
    assert await direct.insert_new(new_record("88.118.8/K1")) == (True, False)


async def test_a_shared_statement_cut_midway_fails_every_writer_and_writes_nothing(
    pg: Database,
    direct: PgDirect,
) -> None:
    holder, watcher = await asyncpg.connect(direct.dsn), await asyncpg.connect(direct.dsn)
    # One statement at a time and no stall, so the writes behind the first share the next one.
    direct.inserts.max_running = 1
    direct.inserts.stall_after = 60.0
    try:
        held = await holding(holder, "88.118.8/C0", "88.118.8/C4")
        first = asyncio.create_task(direct.insert_new(new_record("88.118.8/C0")))
        first_pid = await _waiting_insert(watcher)
        queued = ["88.118.8/C1", "88.118.8/C2", "88.118.8/C3", "88.118.8/C4"]
        writes = [asyncio.create_task(direct.insert_new(new_record(h))) for h in queued]
        await asyncio.sleep(0.05)
        # The first statement's connection dies: the four queued go in as one statement, which
        # inserts C1 … C3 (in handle order) and waits on C4; its connection dies too.
        await watcher.execute("SELECT pg_terminate_backend($1)", first_pid)
        with pytest.raises(Unavailable):
            await first
        shared_pid = await _waiting_insert(watcher, shared=True)
        await watcher.execute("SELECT pg_terminate_backend($1)", shared_pid)
        for write in writes:
            # Each writer is told, none is acknowledged, and none is retried on its own.
            with pytest.raises(Unavailable, match="storage is unavailable"):
                await write
        await held.rollback()
    finally:
        await holder.close()
        await watcher.close()
    # Nothing of either statement was written: a statement is its own transaction.
    assert await _rows(pg) == ([], [])


async def test_a_record_seen_registered_is_changed_without_trying_it_as_new(
    pg: Database,
    direct: PgDirect,
) -> None:
    records = RecordService(pg)
    handle = Handle.parse("88.118.8/SEEN-1")
    first = [HandleValue(1, "URL", "string", "https://example.com/1")]
    second = [HandleValue(1, "URL", "string", "https://example.com/2")]
    assert await records.put(ADMIN, handle, first) is True
    statements = direct.inserts.statements
    # Seen registered: changed under its row lock, with no insert tried first.
    assert await records.put(ADMIN, handle, second, seen=True) is False
    assert direct.inserts.statements == statements
    stored = await records.get(handle)
    assert stored is not None and stored.values[0].value == "https://example.com/2"
    # A hint that is wrong (deleted since it was seen) still creates the record.
    await records.delete(ADMIN, handle)
    assert await records.put(ADMIN, handle, first, seen=True) is True
    stored = await records.get(handle)
    assert stored is not None and stored.values[0].value == "https://example.com/1"
    # Without the hint a change tries the insert first, as before.
    assert await records.put(ADMIN, handle, second) is False
    assert direct.inserts.statements == statements + 1
