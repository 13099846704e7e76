"""The record writer on SQLite and PostgreSQL: sealed, stored and outboxed together, told after."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from sqlalchemy import event, select

from registry import (
    ADMIN,
    Forbidden,
    Handle,
    HandleAlreadyExists,
    HandleValue,
    InvalidValue,
    Principal,
    RecordService,
    RecordWriter,
    Role,
    Unauthenticated,
    check_writable,
    decode_values,
)
from registry.storage import Database
from registry.storage.models import OutboxRow, RecordRow

URL = HandleValue(1, "URL", "string", "https://example.com/")
URL2 = HandleValue(2, "URL", "string", "https://example.org/")
A, B, C = (Handle.parse(f"88.118.8/W{n}") for n in range(3))


class Seen:
    """A change listener that also records what storage held when it was told."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls: list[list[str]] = []
        self.stored_then: list[tuple[list[str], list[str]]] = []

    async def __call__(self, handles: Sequence[str]) -> None:
        self.calls.append(list(handles))
        self.stored_then.append((await _records(self.db), [s for _, s in await _outbox(self.db)]))


def _writer(db: Database) -> tuple[RecordWriter, Seen]:
    writer = RecordWriter(db)
    seen = Seen(db)
    writer.add_listener(seen)
    writer.set_sealer(
        lambda handle, values: [
            *values,
            HandleValue(400, "HS_SIGNATURE", "string", f"sig:{handle}"),
        ]
    )
    return writer, seen


async def _records(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.execute(select(RecordRow.handle).order_by("handle"))).scalars())


async def _outbox(db: Database) -> list[tuple[str, str]]:
    async with db.read() as session:
        rows = (await session.execute(select(OutboxRow).order_by(OutboxRow.seq))).scalars()
        return [(row.kind, row.subject) for row in rows]


async def _stored(db: Database, handle: Handle) -> list[HandleValue]:
    async with db.read() as session:
        row = await session.get(RecordRow, str(handle))
    assert row is not None
    return list(decode_values(row.values))


async def test_a_put_stores_the_sealed_record_and_its_outbox_row_then_tells_once(
    db: Database,
) -> None:
    writer, seen = _writer(db)
    async with writer.transaction() as tx:
        await tx.put(A, tx.stamped([URL]), None, new=True)
        assert seen.calls == []
    assert seen.calls == [[str(A)]]
    # Told after the commit: another connection already saw the record and its outbox row.
    assert seen.stored_then == [([str(A)], [str(A)])]
    assert await _outbox(db) == [("handle.upsert", str(A))]
    stored = await _stored(db, A)
    assert [v.type for v in stored] == ["URL", "HS_SIGNATURE"]
    assert stored[0].timestamp == tx.stamp


async def test_a_failure_midway_writes_nothing_and_tells_nobody(db: Database) -> None:
    writer, seen = _writer(db)

    def refuse_b(handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
        if handle == B:
            raise InvalidValue("refused", handle=str(handle))
        return values

    writer.set_sealer(refuse_b)
    with pytest.raises(InvalidValue):
        async with writer.transaction() as tx:
            await tx.put(A, [URL], None, new=True)
            await tx.put(B, [URL], None, new=True)
    assert await _records(db) == [] and await _outbox(db) == []
    assert seen.calls == []


async def test_inserting_a_taken_handle_is_refused_and_rolls_the_transaction_back(
    db: Database,
) -> None:
    writer, seen = _writer(db)
    async with writer.transaction() as tx:
        await tx.put(A, [URL], None, new=True)
    with pytest.raises(HandleAlreadyExists):
        async with writer.transaction() as tx:
            await tx.put(B, [URL], None, new=True)
            await tx.put(A, [URL], None, new=True)
    assert await _records(db) == [str(A)]
    assert await _outbox(db) == [("handle.upsert", str(A))]
    assert seen.calls == [[str(A)]]


async def test_a_batch_is_told_once_with_every_handle_it_changed(db: Database) -> None:
    writer, seen = _writer(db)
    async with writer.transaction() as tx:
        await tx.put(A, [URL], None, new=True)
    sealed = await writer.seal_many([(A, [URL]), (B, [URL]), (C, [URL])])
    assert all(isinstance(text, str) and "sig:" in text for text in sealed)
    async with writer.transaction() as tx:
        inserted = await tx.insert_new(
            [(h, str(t), None) for h, t in zip((A, B, C), sealed, strict=True)]
        )
    assert inserted == {str(B), str(C)}
    assert seen.calls == [[str(A)], [str(B), str(C)]]
    async with writer.transaction() as tx:
        await tx.update_many([(str(A), str(sealed[0]), None), (str(B), str(sealed[1]), None)])
        deleted = await tx.delete_many([str(C), "88.118.8/NONE"])
        await tx.put(A, [URL], None, new=False)
    assert deleted == {str(C)}
    # One announcement per transaction; a handle written twice is named once.
    assert seen.calls[2:] == [[str(A), str(B), str(C)]]
    assert await _outbox(db) == [
        ("handle.upsert", str(A)),
        ("handle.upsert", str(B)),
        ("handle.upsert", str(C)),
        ("handle.upsert", str(A)),
        ("handle.upsert", str(B)),
        ("handle.delete", str(C)),
        ("handle.upsert", str(A)),
    ]


async def test_a_change_kept_from_the_top_level_node_is_still_told(db: Database) -> None:
    writer, seen = _writer(db)
    async with writer.transaction() as tx:
        await tx.put(A, [URL], None, new=True, ship=False)
        await tx.append_change("prefix.create", "88.118.8", {"prefix": "88.118.8"})
    assert await _outbox(db) == [("prefix.create", "88.118.8")]
    assert seen.calls == [[str(A)]]
    async with db.read() as session:
        payload = (await session.execute(select(OutboxRow.payload))).scalar_one()
    assert orjson.loads(payload) == {"prefix": "88.118.8"}


def test_one_check_decides_who_may_write_a_handle() -> None:
    acme = Principal(Role.ENTERPRISE, "300:88.118.8/ADMIN", 1, frozenset({"88.118.8"}))
    check_writable(acme, A)
    check_writable(ADMIN, Handle.parse("88.118.8/ADMIN"))
    with pytest.raises(Forbidden, match=r"may not write under prefix 88\.118\.9"):
        check_writable(acme, Handle.parse("88.118.9/X"))
    with pytest.raises(Forbidden, match="managed by the node"):
        check_writable(acme, Handle.parse("88.118.8/ADMIN"))
    with pytest.raises(Unauthenticated):
        check_writable(Principal(Role.ANONYMOUS), A)


async def test_a_taken_handle_in_a_single_insert_writes_nothing_and_spoils_nothing(
    db: Database,
) -> None:
    writer, seen = _writer(db)
    async with writer.transaction() as tx:
        await tx.put(A, [URL], None, new=True)
    (sealed,) = await writer.seal_many([(A, [URL])])
    async with writer.transaction() as tx:
        # The one-record path (a single SNMS registration's fallback): no error, no outbox row...
        assert await tx.insert(A, str(sealed), None) is False
        # ...and the transaction goes on (no failed statement to roll back on PostgreSQL).
        assert await tx.insert(B, str(sealed), "1.0") is True
    assert await _records(db) == [str(A), str(B)]
    assert await _outbox(db) == [("handle.upsert", str(A)), ("handle.upsert", str(B))]
    assert seen.calls == [[str(A)], [str(B)]]
    async with db.read() as session:
        row = await session.get(RecordRow, str(B))
    assert row is not None and row.template_version == "1.0"


async def test_a_new_record_and_its_outbox_row_go_straight_through_the_driver(
    db: Database,
) -> None:
    writer, _ = _writer(db)
    records = RecordService(db, writer)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.write_engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await records.put(ADMIN, A, [URL]) is True
        # The same whole-record PUT again replaces it (tried as new first, then updated).
        assert await records.put(ADMIN, A, [URL, URL2]) is False
    finally:
        event.remove(db.write_engine.sync_engine, "before_cursor_execute", seen)
    writes = [s for s in statements if "records" in s or "outbox" in s]
    # The new record and its outbox row went straight through the driver, as a transaction of
    # their own (``PgDirect``, ``SqliteDirect``): nothing was inserted here before the
    # replacement's locking read.
    locked = next(n for n, s in enumerate(writes) if "FOR UPDATE" in s or "SELECT" in s)
    assert not any("INSERT" in s for s in writes[:locked])
    assert [v.type for v in await _stored(db, A)] == ["URL", "URL", "HS_SIGNATURE"]
    assert await _outbox(db) == [("handle.upsert", str(A))] * 2
    with pytest.raises(HandleAlreadyExists):
        await records.put(ADMIN, A, [URL], overwrite=False)
    assert await _outbox(db) == [("handle.upsert", str(A))] * 2
