"""Records registered, changed and deleted in batches, each item all-or-nothing.

A batch is checked item by item (grammar, ownership, template, duplicates within the batch) and
then written in one ``RecordWriter`` transaction through the driver's executemany paths: ``INSERT …
ON CONFLICT DO NOTHING RETURNING`` tells which handles existed already, so a retried batch reports
those items instead of failing. The writer gives every item written its outbox row in the same
transaction and announces the batch to the change listeners once, after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ._errors import (
    EntityNotFound,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidInput,
    NodeError,
)
from ._grammar import Handle
from ._principal import Principal
from ._records import RecordService
from ._templates import Template, TemplateService, apply_template
from ._values import HandleValue, Record, decode_values, stamp_values, utc_timestamp
from ._writer import check_writable
from .storage.database import Database
from .storage.repository import Records

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


class BatchService:
    """create_many / update_many / delete_many with a result per item."""

    def __init__(self, db: Database, records: RecordService, templates: TemplateService) -> None:
        self.db = db
        self.records = records
        self.writer = records.writer
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
                check_writable(principal, handle)
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
        if len(drafts) == 1 and drafts[0].template_version is not None:
            done = await self._create_remembered(principal, drafts[0])
            if done is not None:
                return done
        results: ItemResults = [None] * len(drafts)
        self._admit(principal, [d.handle for d in drafts], results)
        # Stamped before the transaction opens, with the time sealing starts.
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
            prepared[position] = stamp_values(values, stamp)
        # Sealed before the write transaction opens: signing a batch holds no lock.
        sealed = await self.writer.seal_many(
            [(drafts[position].handle, values) for position, values in prepared.items()]
        )
        rows: dict[int, tuple[Handle, str, str | None]] = {}
        for position, text in zip(prepared, sealed, strict=True):
            if isinstance(text, NodeError):
                results[position] = text
                continue
            draft = drafts[position]
            rows[position] = (draft.handle, text, draft.template_version)
        inserted = await self._insert_new(list(rows.values()), now)
        for position, (handle, _, _) in rows.items():
            key = str(handle)
            if key not in inserted:
                results[position] = HandleAlreadyExists(f"handle {key} already exists", handle=key)
        return results

    async def _insert_new(
        self, rows: Sequence[tuple[Handle, str, str | None]], now: datetime
    ) -> set[str]:
        """The handles of ``rows`` inserted: a single registration through
        ``RecordWriter.insert_one``, a batch in a transaction of its own."""
        if not rows:
            return set()
        if len(rows) == 1:
            handle, text, version = rows[0]
            return (
                {str(handle)}
                if await self.writer.insert_one(handle, text, version, now=now)
                else set()
            )
        async with self.writer.transaction(alone=True, now=now) as tx:
            return await tx.insert_new(rows)

    async def _create_remembered(
        self, principal: Principal, draft: RecordDraft
    ) -> ItemResults | None:
        """A single registration checked against its template as last read, without reading it.

        The insert goes in only while the template is still stored as that text; ``None``
        (nothing written) when that could not be settled here: the template was not read
        before, the values do not fit it, or the insert wrote nothing and the handle does not
        exist (the template changed), and ``create_many`` then goes the long way, reading it
        afresh. A handle that exists (a registration retried, most often) is answered here: not
        signed again, and the template as remembered kept for the registrations to come.
        """
        version = draft.template_version
        assert version is not None
        remembered = self.templates.remembered(draft.handle.prefix, version)
        if remembered is None:
            return None
        body, template = remembered
        results: ItemResults = [None]
        self._admit(principal, [draft.handle], results)
        if results[0] is not None:
            return results
        try:
            values = apply_template(str(draft.handle), draft.values, template)
        except NodeError:
            return None
        now = datetime.now(UTC)
        stamp = utc_timestamp(now)
        (sealed,) = await self.writer.seal_many([(draft.handle, stamp_values(values, stamp))])
        if isinstance(sealed, NodeError):
            return [sealed]
        if await self.writer.insert_one(draft.handle, sealed, version, now=now, template_body=body):
            return results
        key = str(draft.handle)
        if await self.db.values_text(key) is not None:
            return [HandleAlreadyExists(f"handle {key} already exists", handle=key)]
        self.templates.forget(draft.handle.prefix, version)
        return None

    async def update_many(self, principal: Principal, drafts: Sequence[RecordDraft]) -> ItemResults:
        """Replace the values of existing records; a record keeps its template version unless named."""
        self._check_size(len(drafts))
        results: ItemResults = [None] * len(drafts)
        self._admit(principal, [d.handle for d in drafts], results)
        cache: dict[tuple[str, str], Template | None] = {}
        async with self.writer.transaction(alone=True) as tx:
            wanted = [str(d.handle) for i, d in enumerate(drafts) if results[i] is None]
            existing = await tx.lock_many(wanted)
            prepared: dict[int, tuple[str | None, list[HandleValue]]] = {}
            for position, draft in enumerate(drafts):
                key = str(draft.handle)
                if results[position] is not None:
                    continue
                try:
                    if key not in existing:
                        raise HandleNotFound(f"handle {key} does not exist", handle=key)
                    version = draft.template_version or existing[key]
                    template = await self._template(cache, draft.handle, version, tx.session)
                    values = apply_template(key, draft.values, template)
                except NodeError as exc:
                    results[position] = exc
                    continue
                prepared[position] = (version, tx.stamped(values))
            sealed = await self.writer.seal_many(
                [(drafts[position].handle, values) for position, (_, values) in prepared.items()]
            )
            rows: list[tuple[str, str, str | None]] = []
            for (position, (version, _)), text in zip(prepared.items(), sealed, strict=True):
                if isinstance(text, NodeError):
                    results[position] = text
                    continue
                rows.append((str(drafts[position].handle), text, version))
            await tx.update_many(rows)
        return results

    async def delete_many(self, principal: Principal, handles: Sequence[Handle]) -> ItemResults:
        """Delete records; a handle that does not exist is reported for its item."""
        self._check_size(len(handles))
        results: ItemResults = [None] * len(handles)
        self._admit(principal, handles, results)
        wanted = [str(h) for i, h in enumerate(handles) if results[i] is None]
        async with self.writer.transaction(alone=True) as tx:
            deleted = await tx.delete_many(wanted)
        for position, handle in enumerate(handles):
            key = str(handle)
            if results[position] is None and key not in deleted:
                results[position] = HandleNotFound(f"handle {key} does not exist", handle=key)
        return results
