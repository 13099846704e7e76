"""The outbox seen from the shipper: batches with per-node sequence numbers, and sync state.

A batch is fixed before it is sent: its sequence number and outbox ids are stored in
``sync_state`` ("inflight"), so after a crash or a lost answer the same batch is sent again with
the same number and the top-level node can apply each number exactly once. Rows are deleted only
when their batch is acknowledged. Rows are chosen by id, never by an id range, so a transaction
that commits late with a lower id (possible on PostgreSQL) is shipped in a later batch, not lost.

An upsert row names its record, not its values: the values shipped are those the record holds
when the batch is built. The top-level node thus may skip a version, never the last one; a batch
sent again may carry newer values than its first sending, and is applied once either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .._errors import InvalidInput
from ..trust.secretbox import SecretBox, is_sealed
from .database import Database
from .models import OutboxRow, PrefixRow, RecordRow, SyncStateRow

__all__ = ["OutboxBatch", "SyncLease", "SyncStore"]

# Any constant works; it names "the outbox shipper" among PostgreSQL advisory locks.
_LOCK_KEY = 0x1D0DE5
_INFLIGHT = "inflight"
_UPSERT, _DELETE = "handle.upsert", "handle.delete"
_LAST_SEQ = "last_acked_seq"
_TOKEN = "toplevel_token"


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """The next batch to send: its sequence number and changes in outbox order."""

    seq: int
    changes: list[dict[str, Any]]

    def body(self) -> bytes:
        """The JSON body of the batch; records' values are passed through as stored."""
        return orjson.dumps({"seq": self.seq, "changes": self.changes})


class SyncLease:
    """Proof that this process is the one shipping; released on close or by its death."""

    def __init__(self, release: Any) -> None:
        self._release = release

    async def release(self) -> None:
        await self._release()


class SyncStore:
    """Reads and trims the outbox, and keeps the shipper's state in ``sync_state``.

    ``box`` seals the sync token the top-level node issued, which is never stored in the clear.
    """

    def __init__(self, db: Database, box: SecretBox | None = None) -> None:
        self.db = db
        self.box = box

    async def token(self) -> str | None:
        """The top-level node's sync token, if onboarded; None if it cannot be opened here."""
        stored = await self.get(_TOKEN)
        if stored is None or self.box is None:
            return None
        if not is_sealed(stored):
            # Kept in the clear by an older version: sealed now, and still used.
            await self.put(_TOKEN, self.box.seal(stored, _TOKEN))
            return stored
        return self.box.open(stored, _TOKEN)

    async def set_token(self, token: str | None) -> None:
        """Keep (sealed) or, with None, forget the sync token."""
        if token is None:
            await self.put(_TOKEN, None)
            return
        if self.box is None:
            raise InvalidInput("the sync token cannot be stored: this SyncStore has no SecretBox")
        await self.put(_TOKEN, self.box.seal(token, _TOKEN))

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that no other shipper runs at the same time."""
        async with self.db.write() as session:
            if not self.db.is_sqlite:
                await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            yield session

    async def try_lead(self) -> SyncLease | None:
        """Become the only shipper among all processes on this database, or None if taken."""
        if self.db.is_sqlite:
            return _file_lease(self.db.url)
        connection: AsyncConnection = await self.db.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY + 1}
            )
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return None

        async def release() -> None:
            with contextlib.suppress(Exception):
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY + 1}
                )
            await connection.close()

        return SyncLease(release)

    async def next_batch(self, limit: int) -> OutboxBatch | None:
        """The batch in flight if there is one, else a new one of up to ``limit`` rows."""
        async with self._locked() as session:
            inflight = await _get(session, _INFLIGHT)
            if inflight is not None:
                fixed = orjson.loads(inflight)
                rows = await _rows(session, fixed["ids"])
                return OutboxBatch(fixed["seq"], await _changes(session, rows))
            statement = select(OutboxRow).order_by(OutboxRow.seq).limit(limit)
            rows = list((await session.execute(statement)).scalars())
            if not rows:
                return None
            seq = int(await _get(session, _LAST_SEQ) or 0) + 1
            ids = [row.seq for row in rows]
            await _set(session, _INFLIGHT, orjson.dumps({"seq": seq, "ids": ids}).decode())
            return OutboxBatch(seq, await _changes(session, rows))

    async def acknowledge(self, seq: int) -> bool:
        """Batch ``seq`` reached the top-level node: drop its rows; False if it was not in flight."""
        now = datetime.now(UTC)
        async with self._locked() as session:
            inflight = await _get(session, _INFLIGHT)
            if inflight is None or orjson.loads(inflight)["seq"] != seq:
                return False
            ids = orjson.loads(inflight)["ids"]
            for start in range(0, len(ids), 1000):
                await session.execute(
                    delete(OutboxRow).where(OutboxRow.seq.in_(ids[start : start + 1000]))
                )
            await session.execute(delete(SyncStateRow).where(SyncStateRow.name == _INFLIGHT))
            await _set(session, _LAST_SEQ, str(seq))
            await _set(session, "last_success_at", now.isoformat())
            await _set(
                session,
                "shipped_rows",
                str(int(await _get(session, "shipped_rows") or 0) + len(ids)),
            )
            await session.execute(delete(SyncStateRow).where(SyncStateRow.name == "last_error"))
        return True

    async def record_error(self, message: str) -> None:
        """Remember why the last attempt failed (shown by ``idnode sync status``)."""
        now = datetime.now(UTC)
        async with self._locked() as session:
            await _set(
                session,
                "last_error",
                orjson.dumps({"message": message[:1000], "at": now.isoformat()}).decode(),
            )

    async def get(self, name: str) -> str | None:
        async with self.db.read() as session:
            return await _get(session, name)

    async def put(self, name: str, value: str | None) -> None:
        """Set (or with None, remove) one named piece of sync state."""
        async with self._locked() as session:
            if value is None:
                await session.execute(delete(SyncStateRow).where(SyncStateRow.name == name))
            else:
                await _set(session, name, value)

    async def status(self) -> dict[str, Any]:
        """Lag in rows and seconds, the last acknowledged batch, the last error."""
        now = datetime.now(UTC)
        async with self.db.read() as session:
            pending, oldest = (
                await session.execute(select(func.count(), func.min(OutboxRow.created_at)))
            ).one()
            state = dict(
                (await session.execute(select(SyncStateRow.name, SyncStateRow.value))).all()
            )
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        inflight = orjson.loads(state[_INFLIGHT]) if _INFLIGHT in state else None
        error = orjson.loads(state["last_error"]) if "last_error" in state else None
        return {
            "pendingRows": int(pending),
            "lagSeconds": 0.0 if oldest is None else round((now - oldest).total_seconds(), 3),
            "lastAckedSeq": int(state.get(_LAST_SEQ, 0)),
            "inflightSeq": None if inflight is None else inflight["seq"],
            "shippedRows": int(state.get("shipped_rows", 0)),
            "lastSuccessAt": state.get("last_success_at"),
            "lastError": None if error is None else error["message"],
            "lastErrorAt": None if error is None else error["at"],
            "registered": _TOKEN in state,
        }

    async def counts(self) -> dict[str, int]:
        """Figures for the periodic statistics report."""
        async with self.db.read() as session:
            records = await session.scalar(
                select(func.count()).select_from(RecordRow).where(RecordRow.prefix != "0.NA")
            )
            prefixes = await session.scalar(select(func.count()).select_from(PrefixRow))
        return {"registrations": int(records or 0), "prefixes": int(prefixes or 0)}


async def _get(session: AsyncSession, name: str) -> str | None:
    statement = select(SyncStateRow.value).where(SyncStateRow.name == name)
    return (await session.execute(statement)).scalar_one_or_none()


async def _set(session: AsyncSession, name: str, value: str) -> None:
    row = await session.get(SyncStateRow, name)
    if row is None:
        session.add(SyncStateRow(name=name, value=value))
    else:
        row.value = value
    await session.flush()


async def _rows(session: AsyncSession, ids: list[int]) -> list[OutboxRow]:
    rows: list[OutboxRow] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows.extend(
            (await session.execute(select(OutboxRow).where(OutboxRow.seq.in_(chunk)))).scalars()
        )
    return sorted(rows, key=lambda row: row.seq)


async def _changes(session: AsyncSession, rows: list[OutboxRow]) -> list[dict[str, Any]]:
    """The rows as changes, each upsert with the values its record holds now.

    A record deleted since its upsert was written ships that upsert as a delete (its own delete
    follows). Rows written before upserts stopped carrying their values ship as they were stored.
    """
    payloads = [orjson.loads(row.payload) for row in rows]
    # Upserts that name their record (rows written before carry their values already).
    named = [
        row.kind == _UPSERT and "values" not in payload
        for row, payload in zip(rows, payloads, strict=True)
    ]
    wanted = [row.subject for row, names in zip(rows, named, strict=True) if names]
    current: dict[str, str] = {}
    for start in range(0, len(wanted), 1000):
        statement = select(RecordRow.handle, RecordRow.values).where(
            RecordRow.handle.in_(wanted[start : start + 1000])
        )
        current.update((await session.execute(statement)).all())
    changes = []
    for row, payload, names in zip(rows, payloads, named, strict=True):
        kind = row.kind
        if names:
            values = current.get(row.subject)
            if values is None:
                kind = _DELETE
            else:
                payload["values"] = orjson.Fragment(values)
        changes.append(
            {
                "id": row.seq,
                "kind": kind,
                "subject": row.subject,
                "payload": payload,
                "createdAt": row.created_at.isoformat(),
            }
        )
    return changes


def _file_lease(url: str) -> SyncLease | None:
    """On SQLite: an exclusive lock on a file beside the database, freed by the OS on death."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return SyncLease(_noop)
    path = Path(database).with_name(Path(database).name + ".sync-lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None

    async def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return SyncLease(release)


async def _noop() -> None:
    return None
