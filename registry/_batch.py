"""Records registered, changed and deleted in batches, each item all-or-nothing.

A batch is checked item by item (grammar, ownership, template, duplicates within the batch) and
then written in one transaction through the driver's executemany paths: ``INSERT … ON CONFLICT DO
NOTHING RETURNING`` tells which handles existed already, so a retried batch reports those items
instead of failing. Every item written gets its outbox row in the same transaction and is
announced to the change listeners after commit, as single writes are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ._database import Database
from ._errors import (
    EntityNotFound,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidInput,
    NodeError,
)
from ._grammar import Handle
from ._principal import Principal
from ._records import (
    RecordService,
    _check_not_admin_handle,
    change_payload,
    decode_values,
)
from ._repository import Records
from ._repository_snms import BulkRecords
from ._templates import Template, TemplateService, apply_template
from ._values import HandleValue, Record, utc_timestamp

__all__ = ["MAX_BATCH_ITEMS", "BatchService", "RecordDraft"]

MAX_BATCH_ITEMS = 2000


@dataclass(frozen=True, slots=True)
class RecordDraft:
    """A record as a client asks for it: the values it sends and the template version it names."""

    handle: Handle
    values: tuple[HandleValue, ...]
    template_version: str | None = None


# One result per item, in order: None when the item was written, else why it was not.
ItemResults = list[NodeError | None]


def _stamped(values: Sequence[HandleValue], stamp: str) -> list[HandleValue]:
    # Direct construction: dataclasses.replace costs several times more per value.
    return [
        HandleValue(v.index, v.type, v.format, v.value, v.ttl, stamp, v.permissions) for v in values
    ]


class BatchService:
    """create_many / update_many / delete_many with a result per item."""

    def __init__(self, db: Database, records: RecordService, templates: TemplateService) -> None:
        self.db = db
        self.records = records
        self.templates = templates

    async def read(self, principal: Principal, handle: Handle) -> tuple[Record, str | None]:
        """A record and its template version, for the caller that administers its prefix."""
        key = str(handle)
        principal.require_owner(handle.prefix, handle=key)
        async with self.db.read() as session:
            row = await Records(session).get(key)
        if row is None:
            raise HandleNotFound(f"handle {key} does not exist", handle=key)
        return Record(handle, decode_values(row.values)), row.template_version

    @staticmethod
    def _check_size(count: int) -> None:
        if count > MAX_BATCH_ITEMS:
            raise InvalidInput(f"a batch holds at most {MAX_BATCH_ITEMS} items, got {count}")

    @staticmethod
    def _admit(principal: Principal, handles: Sequence[Handle], results: ItemResults) -> None:
        """Mark items that repeat an earlier handle of the batch or that the caller may not touch."""
        seen: set[str] = set()
        for position, handle in enumerate(handles):
            key = str(handle)
            try:
                if key in seen:
                    raise HandleAlreadyExists(
                        f"handle {key} appears more than once in this batch", handle=key
                    )
                seen.add(key)
                principal.require_owner(handle.prefix, handle=key)
                _check_not_admin_handle(principal, handle)
            except NodeError as exc:
                results[position] = exc

    async def _template(
        self,
        cache: dict[tuple[str, str], Template | None],
        handle: Handle,
        version: str | None,
        session: AsyncSession | None = None,
    ) -> Template | None:
        if version is None:
            return None
        key = (str(handle.prefix), version)
        if key not in cache:
            cache[key] = await self.templates.load(handle.prefix, version, session)
        template = cache[key]
        if template is None:
            raise EntityNotFound(
                f"template {version} of prefix {handle.prefix} does not exist", handle=str(handle)
            )
        return template

    async def create_many(self, principal: Principal, drafts: Sequence[RecordDraft]) -> ItemResults:
        """Register new records; an existing handle is reported for its item, not overwritten."""
        self._check_size(len(drafts))
        results: ItemResults = [None] * len(drafts)
        self._admit(principal, [d.handle for d in drafts], results)
        now = datetime.now(UTC)
        stamp = utc_timestamp(now)
        cache: dict[tuple[str, str], Template | None] = {}
        prepared: dict[int, list[HandleValue]] = {}
        for position, draft in enumerate(drafts):
            if results[position] is not None:
                continue
            try:
                template = await self._template(cache, draft.handle, draft.template_version)
                values = apply_template(str(draft.handle), draft.values, template)
            except NodeError as exc:
                results[position] = exc
                continue
            prepared[position] = _stamped(values, stamp)
        # Sealed before the write transaction opens: signing a batch holds no lock.
        sealed = await self.records.seal_many(
            [(drafts[position].handle, values) for position, values in prepared.items()]
        )
        rows: dict[int, dict[str, Any]] = {}
        for position, text in zip(prepared, sealed, strict=True):
            if isinstance(text, NodeError):
                results[position] = text
                continue
            draft = drafts[position]
            rows[position] = {
                "handle": str(draft.handle),
                "prefix": str(draft.handle.prefix),
                "values": text,
                "template_version": draft.template_version,
                "created_at": now,
                "updated_at": now,
            }
        async with self.db.write() as session:
            inserted = await BulkRecords(session).insert_new(list(rows.values()))
            await BulkRecords(session).append_outbox(
                (
                    ("handle.upsert", row["handle"], change_payload(row["handle"]))
                    for row in rows.values()
                    if row["handle"] in inserted
                ),
                now,
            )
        for position, row in rows.items():
            if row["handle"] not in inserted:
                key = row["handle"]
                results[position] = HandleAlreadyExists(f"handle {key} already exists", handle=key)
        await self._notify([row["handle"] for row in rows.values() if row["handle"] in inserted])
        return results

    async def update_many(self, principal: Principal, drafts: Sequence[RecordDraft]) -> ItemResults:
        """Replace the values of existing records; a record keeps its template version unless named."""
        self._check_size(len(drafts))
        results: ItemResults = [None] * len(drafts)
        self._admit(principal, [d.handle for d in drafts], results)
        now = datetime.now(UTC)
        stamp = utc_timestamp(now)
        cache: dict[tuple[str, str], Template | None] = {}
        async with self.db.write() as session:
            wanted = [str(d.handle) for i, d in enumerate(drafts) if results[i] is None]
            existing = await BulkRecords(session).lock_existing(wanted)
            prepared: dict[int, tuple[str, list[HandleValue]]] = {}
            for position, draft in enumerate(drafts):
                key = str(draft.handle)
                if results[position] is not None:
                    continue
                try:
                    if key not in existing:
                        raise HandleNotFound(f"handle {key} does not exist", handle=key)
                    version = draft.template_version or existing[key]
                    template = await self._template(cache, draft.handle, version, session)
                    values = apply_template(key, draft.values, template)
                except NodeError as exc:
                    results[position] = exc
                    continue
                prepared[position] = (version, _stamped(values, stamp))
            sealed = await self.records.seal_many(
                [(drafts[position].handle, values) for position, (_, values) in prepared.items()]
            )
            rows: list[dict[str, Any]] = []
            for (position, (version, _)), text in zip(prepared.items(), sealed, strict=True):
                if isinstance(text, NodeError):
                    results[position] = text
                    continue
                rows.append(
                    {
                        "handle": str(drafts[position].handle),
                        "values": text,
                        "template_version": version,
                        "updated_at": now,
                    }
                )
            await BulkRecords(session).update_many(rows)
            await BulkRecords(session).append_outbox(
                (("handle.upsert", row["handle"], change_payload(row["handle"])) for row in rows),
                now,
            )
        await self._notify([row["handle"] for row in rows])
        return results

    async def delete_many(self, principal: Principal, handles: Sequence[Handle]) -> ItemResults:
        """Delete records; a handle that does not exist is reported for its item."""
        self._check_size(len(handles))
        results: ItemResults = [None] * len(handles)
        self._admit(principal, handles, results)
        now = datetime.now(UTC)
        wanted = [str(h) for i, h in enumerate(handles) if results[i] is None]
        async with self.db.write() as session:
            deleted = await BulkRecords(session).delete_many(wanted)
            await BulkRecords(session).append_outbox(
                (("handle.delete", key, change_payload(key)) for key in wanted if key in deleted),
                now,
            )
        for position, handle in enumerate(handles):
            key = str(handle)
            if results[position] is None and key not in deleted:
                results[position] = HandleNotFound(f"handle {key} does not exist", handle=key)
        await self._notify([key for key in wanted if key in deleted])
        return results

    async def _notify(self, handles: list[str]) -> None:
        if handles:
            await self.records.notify(handles)
