"""The one way records are written: stamp, seal, store, outbox, then tell the listeners.

Every write path (Handle REST, SNMS single and batch, admin, the enterprise bookkeeping) opens
a ``RecordWriter.transaction()`` and calls its ``put``/``delete`` or batch forms. Inside one
database transaction each change is sealed, stored and given its outbox row; after the commit,
and before the caller acknowledges anything, the change listeners (cache invalidation, the
shipper) hear once about every handle the transaction changed. A transaction that raises writes
nothing and tells nobody. ``check_writable`` is the one ownership check of a write.
Concurrent transactions share one database transaction and one COMMIT, each in a savepoint of
its own (group commit, ``_group_commit``); the bulk forms' callers run theirs alone.
Deleting a record is an administrative action: ``delete`` and ``delete_many`` record it in the
audit log, in the same transaction; ``audit`` records any other.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ._audit import audit, audit_many
from ._errors import Forbidden, HandleAlreadyExists, NodeError
from ._grammar import Handle
from ._group_commit import GroupCommit, in_member
from ._principal import Principal
from ._values import HandleValue, encode_values, stamp_values, utc_timestamp
from .storage.database import Database
from .storage.direct import NewRecord
from .storage.models import RecordRow
from .storage.repository import Outbox, Records
from .storage.snms import BulkRecords
from .trust.sealing import BatchSealer, Sealer, SealItems, seal_each

__all__ = [
    "ADMIN_SUFFIX",
    "Announce",
    "ChangeListener",
    "RecordWriter",
    "WriteTransaction",
    "change_payload",
    "check_writable",
]

logger = logging.getLogger("idnode.registry")

ChangeListener = Callable[[Sequence[str]], Awaitable[None]]
# Runs in the write transaction just before its COMMIT: session, the handles it changed.
Announce = Callable[[AsyncSession, Sequence[str]], Awaitable[None]]
# Tells the other processes of changes already committed (PostgreSQL's NOTIFY, one for callers
# publishing at once), before the caller acknowledges them.
Publish = Callable[[Sequence[str]], Awaitable[None]]
# Called inside the transaction after new records went in: session, new records per prefix.
QuotaCheck = Callable[[AsyncSession, Mapping[str, int]], Awaitable[None]]
ADMIN_SUFFIX = "ADMIN"
UPSERT, DELETE = "handle.upsert", "handle.delete"
# The audit log's name for deleting a record.
AUDIT_DELETE = "handle.delete"


def change_payload(handle: str) -> dict[str, object]:
    """The outbox payload of a change to a record: its handle alone.

    The shipper adds an upsert's values as the record holds them when the change ships (see
    ``SyncStore``), so a write stores its values once, not a second time in the outbox.
    """
    return {"handle": handle}


def check_writable(principal: Principal, handle: Handle) -> None:
    """Raise unless ``principal`` may write ``handle``: it holds the prefix, and the handle is
    not the prefix's credentials record (``<prefix>/ADMIN``), which only the node writes."""
    key = str(handle)
    principal.require_owner(handle.prefix, handle=key)
    if handle.suffix == ADMIN_SUFFIX and not principal.is_admin:
        raise Forbidden(
            f"{handle} holds the prefix's credentials and is managed by the node;"
            " use the credential commands instead",
            handle=key,
        )


class RecordWriter:
    """Seals, stores and records in the outbox every write; tells listeners after each commit."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[ChangeListener] = []
        self._sealer: Sealer | None = None
        self.quota_check: QuotaCheck | None = None
        self._group = GroupCommit(db, lambda handles: self._tell(handles))
        self._announce: Announce | None = None
        self._publish: Publish | None = None

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(handles)`` after every committed change, before it is acknowledged."""
        self._listeners.append(listener)

    def set_announcer(self, announce: Announce | None, publish: Publish | None = None) -> None:
        """Run ``announce(session, handles)`` in every write transaction just before its COMMIT.

        For what must be atomic with the write, as PostgreSQL's NOTIFY to other processes is
        (delivered at the COMMIT, never for a rolled-back transaction, and no round trip of its
        own after it). The listeners are still told after the COMMIT. ``publish(handles)``: the
        same tidings for a change already committed, for ``insert_alone``'s (without it,
        ``insert_alone`` leaves every write to ``transaction()``).
        """
        self._announce = self._group.before_commit = announce
        self._publish = publish

    @property
    def announces(self) -> bool:
        """Whether an announcer tells other processes of each write within its transaction."""
        return self._announce is not None

    def set_sealer(self, sealer: Sealer | None) -> None:
        """Pass the values of every write through ``sealer`` before they are stored."""
        self._sealer = sealer

    def seal(self, handle: Handle, values: Sequence[HandleValue]) -> list[HandleValue]:
        """The values to store for ``handle`` (``put`` calls this)."""
        return list(values) if self._sealer is None else self._sealer(handle, list(values))

    def seal_text(self, handle: Handle, values: Sequence[HandleValue]) -> str:
        """The stored text of ``values`` as the record of ``handle``: sealed and encoded."""
        return encode_values(self.seal(handle, values))

    async def seal_many(self, items: SealItems) -> list[str | NodeError]:
        """``seal`` for a batch: each item's stored text, or the ``NodeError`` that refused it.

        Callable before ``transaction()``: a batch of new records is signed holding no lock.
        """
        if isinstance(self._sealer, BatchSealer):
            return await self._sealer.seal_many(items)
        return seal_each(self.seal, items)

    async def notify(self, handles: Sequence[str]) -> None:
        """Tell every listener, and every other process, of a change made outside a write
        transaction (a credential changed or a session ended): with an announcer, the other
        processes hear it through a transaction of its own, as they hear the writes'."""
        if self._announce is not None:
            async with self.db.write() as session:
                await self._announce(session, list(handles))
        await self._tell(handles)

    async def _tell(self, handles: Sequence[str]) -> None:
        """Tell every listener that ``handles`` changed (after the COMMIT that changed them)."""
        for listener in self._listeners:
            await listener(handles)

    async def insert_alone(
        self,
        handle: Handle,
        sealed: str,
        template_version: str | None,
        *,
        now: datetime,
        template_body: str | None = None,
    ) -> bool | None:
        """A new record (``seal_text``) as a short transaction of its own, straight through the
        driver, where storage offers that (``Database.insert_alone``: on PostgreSQL one
        statement, shared under load by the new records of the same moment; on a SQLite file
        only while no other writer of the process is at work, so that concurrent ones share a
        group commit).

        True: committed, then the listeners told and the other processes too (``publish``:
        after the COMMIT, not atomically with it as ``announce`` is, since PostgreSQL commits
        the transactions that NOTIFY one at a time; what another process may hold of a handle
        that did not exist is a negative answer, kept no longer than its TTL were the process
        to die in between). False: nothing written, as the handle exists (or, given
        ``template_body``, the template is no longer stored as that text, as
        ``WriteTransaction.insert``). ``None``: nothing written and nothing settled (no direct
        path now; a quota may apply, which only a transaction checks; inside a transaction's
        block): the caller goes through ``transaction()``, as ``insert_one`` does.
        ``now``: the record's creation time.
        """
        if in_member.get() or (self._announce is not None and self._publish is None):
            return None
        key = str(handle)
        record = NewRecord(
            key,
            str(handle.prefix),
            sealed,
            template_version,
            now,
            UPSERT,
            orjson.dumps(change_payload(key)).decode(),
            template_body=template_body,
        )
        done = await self.db.insert_alone(record)
        if done is None or done[1]:
            return None
        if not done[0]:
            return False
        changed = {key: None}
        self._group.count_commit(changed)
        await self._tell(list(changed))
        if self._publish is not None:
            try:
                await self._publish(list(changed))
            except Exception:
                # Committed and forgotten here: the write stands; the others' TTLs bound the rest.
                logger.exception("could not tell the other processes of %s", key)
        return True

    async def insert_one(
        self,
        handle: Handle,
        sealed: str,
        template_version: str | None,
        *,
        now: datetime,
        template_body: str | None = None,
    ) -> bool:
        """``insert_alone``, or where that settles nothing, ``WriteTransaction.insert`` in a
        transaction that may share a group commit: True when inserted."""
        done = await self.insert_alone(
            handle, sealed, template_version, now=now, template_body=template_body
        )
        if done is None:
            async with self.transaction(now=now) as tx:
                done = await tx.insert(
                    handle, sealed, template_version, template_body=template_body
                )
        return done

    @asynccontextmanager
    async def transaction(
        self, *, alone: bool = False, now: datetime | None = None
    ) -> AsyncIterator[WriteTransaction]:
        """One write transaction; its changes are announced once, after it commits.

        Concurrent callers share one database transaction and one COMMIT (group commit,
        ``_group_commit``): each block runs in a savepoint of its own, so one that raises rolls
        back only itself, and each returns only after the shared COMMIT and the announcement.
        ``alone``: a transaction of its own (the bulk forms, which amortize their commit over
        many rows already and would hold up the single writes queued behind them). A caller
        cancelled while it waits for the shared COMMIT may still have its write committed.
        ``now``: the transaction's time (its stamp), when the caller took it beforehand.
        """
        now = now or datetime.now(UTC)
        if alone or in_member.get():
            # A transaction opened inside a member's block runs alone too: its turn is taken.
            async with self.db.write() as session:
                tx = WriteTransaction(self, session, now)
                yield tx
                if tx.changed and self._announce is not None:
                    await self._announce(session, list(tx.changed))
            if tx.changed:
                await self._tell(list(tx.changed))
            return
        async with self._group.member() as member:
            tx = WriteTransaction(self, member.session, now)
            yield tx
            member.changed = tx.changed


class WriteTransaction:
    """The writes of one transaction; each stores its record and its outbox row together."""

    def __init__(self, writer: RecordWriter, session: AsyncSession, now: datetime) -> None:
        self.writer = writer
        self.session = session
        self.now = now
        self.stamp = utc_timestamp(now)
        # Handles changed, in order, each once: what the listeners hear after the commit.
        self.changed: dict[str, None] = {}
        self._records = Records(session)

    def stamped(self, values: Iterable[HandleValue]) -> list[HandleValue]:
        """``values`` with this write's timestamp (the values a client sent, not those kept)."""
        return stamp_values(values, self.stamp)

    async def lock(self, handle: str) -> RecordRow | None:
        """The stored row of ``handle``, locked until the commit, or ``None``."""
        return await self._records.get(handle, for_update=True)

    async def put(
        self,
        handle: Handle,
        values: Sequence[HandleValue],
        template_version: str | None,
        *,
        new: bool,
        ship: bool = True,
        sealed: str | None = None,
    ) -> None:
        """Seal and store ``values`` as the record of ``handle`` (``new``: insert, else update).

        ``ship=False`` keeps the change off the outbox: the top-level node gets no copy.
        ``sealed``: the text ``seal_text`` already made of these values.
        """
        key = str(handle)
        text = sealed if sealed is not None else self.seal_text(handle, values)
        if new:
            if not await self.insert(handle, text, template_version, ship=ship):
                raise HandleAlreadyExists(f"handle {key} already exists", handle=key)
            return
        await self._records.update(key, text, self.now, template_version)
        if ship:
            await self.append_change(UPSERT, key, change_payload(key))
        self.changed[key] = None

    def seal_text(self, handle: Handle, values: Sequence[HandleValue]) -> str:
        """The stored text of ``values`` as the record of ``handle`` (``RecordWriter.seal_text``)."""
        return self.writer.seal_text(handle, values)

    async def insert(
        self,
        handle: Handle,
        sealed: str,
        template_version: str | None,
        *,
        ship: bool = True,
        template_body: str | None = None,
    ) -> bool:
        """Store ``sealed`` (``seal_text``) as a new record, with its outbox row unless not
        ``ship``; False, writing nothing, when ``handle`` exists already (or, given
        ``template_body``, when the template is no longer stored as that text).

        On PostgreSQL record, outbox row and whether a quota may apply are one statement (on
        SQLite the insert tells whether a quota may apply, the outbox row is a second); the
        quota check's locking read runs only when one may. Without a quota row for the owner at
        that moment the check had nothing to lock either: a quota set concurrently orders after.
        """
        key = str(handle)
        prefix = str(handle.prefix)
        change = (UPSERT, orjson.dumps(change_payload(key)).decode()) if ship else None
        try:
            inserted, quota = await self._records.insert_new(
                key, prefix, sealed, self.now, template_version, change, template_body
            )
        except IntegrityError as exc:
            raise HandleAlreadyExists(f"handle {key} already exists", handle=key) from exc
        if not inserted:
            return False
        if quota:
            await self.check_quota({prefix: 1})
        self.changed[key] = None
        return True

    async def delete(self, handle: str) -> bool:
        """Delete the record of ``handle``; False when there was none."""
        if not await self._records.delete(handle):
            return False
        await self.append_change(DELETE, handle, change_payload(handle))
        await self.audit(AUDIT_DELETE, handle)
        self.changed[handle] = None
        return True

    async def audit(
        self, action: str, target: str, summary: Mapping[str, Any] | None = None
    ) -> None:
        """Record an administrative action in the audit log with this transaction."""
        await audit(self.session, action, target, summary, at=self.now)

    async def check_quota(self, added: Mapping[str, int]) -> None:
        """Refuse (and so roll back) new records that put an enterprise over a quota."""
        if added and self.writer.quota_check is not None:
            await self.writer.quota_check(self.session, added)

    async def append_change(self, kind: str, subject: str, payload: Any) -> None:
        """An outbox row for a change that is not a record's (a prefix allocated)."""
        await Outbox(self.session).append(kind, subject, payload, self.now)

    async def insert_new(self, rows: Sequence[tuple[Handle, str, str | None]]) -> set[str]:
        """Insert each ``(handle, sealed text, template version)`` whose handle is free (a
        batch: one record goes through ``insert``, or ``RecordWriter.insert_one``).

        The handles inserted; a handle that exists already is left as it is.
        """
        now = self.now
        bulk = BulkRecords(self.session)
        stored = [
            {
                "handle": str(handle),
                "prefix": str(handle.prefix),
                "values": text,
                "template_version": version,
                "created_at": now,
                "updated_at": now,
            }
            for handle, text, version in rows
        ]
        inserted = await bulk.insert_new(stored)
        keys = [row["handle"] for row in stored if row["handle"] in inserted]
        await self.check_quota(
            Counter(row["prefix"] for row in stored if row["handle"] in inserted)
        )
        await bulk.append_outbox(((UPSERT, key, change_payload(key)) for key in keys), now)
        self.changed.update(dict.fromkeys(keys))
        return inserted

    async def lock_many(self, handles: Sequence[str]) -> dict[str, str | None]:
        """The template version of each of ``handles`` that exists, locked until the commit."""
        return await BulkRecords(self.session).lock_existing(handles)

    async def update_many(self, rows: Sequence[tuple[str, str, str | None]]) -> None:
        """Replace the values of existing records: ``(handle, sealed text, template version)``."""
        now = self.now
        bulk = BulkRecords(self.session)
        await bulk.update_many(
            [
                {"handle": key, "values": text, "template_version": version, "updated_at": now}
                for key, text, version in rows
            ]
        )
        await bulk.append_outbox(((UPSERT, key, change_payload(key)) for key, _, _ in rows), now)
        self.changed.update(dict.fromkeys(key for key, _, _ in rows))

    async def delete_many(self, handles: Sequence[str]) -> set[str]:
        """Delete the records of ``handles`` that exist; the handles deleted."""
        bulk = BulkRecords(self.session)
        deleted = await bulk.delete_many(handles)
        keys = [key for key in handles if key in deleted]
        await bulk.append_outbox(((DELETE, key, change_payload(key)) for key in keys), self.now)
        await audit_many(self.session, AUDIT_DELETE, keys, {"batch": len(handles)}, at=self.now)
        self.changed.update(dict.fromkeys(keys))
        return deleted
