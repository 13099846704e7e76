"""Reading and writing records with Handle's semantics; every write goes through the writer."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ._actor import AuditNote
from ._errors import (
    HandleAlreadyExists,
    HandleNotFound,
    InvalidInput,
    InvalidValue,
    ValueAlreadyExists,
    ValuesNotFound,
)
from ._grammar import Handle, Prefix
from ._principal import Principal
from ._templates import check_reserved, reapply_template, stored_template
from ._values import (
    HandleValue,
    Record,
    decode_values,
    stamp_values,
    utc_timestamp,
)
from ._writer import RecordWriter, check_writable
from .storage.database import Database
from .storage.repository import Records

__all__ = ["MAX_PAGE_SIZE", "IndexSelection", "RecordService"]

IndexSelection = Collection[int] | Literal["various"] | None
MAX_PAGE_SIZE = 10_000
# The largest offset both backends can take (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1


class RecordService:
    """Registers, changes, deletes and reads records, each write through the ``RecordWriter``."""

    def __init__(self, db: Database, writer: RecordWriter | None = None) -> None:
        self.db = db
        self.writer = writer or RecordWriter(db)

    async def get(self, handle: Handle) -> Record | None:
        key = str(handle)
        text = await self.db.values_text(key)
        return None if text is None else Record(handle, decode_values(text))

    async def get_many(self, handles: Sequence[Handle]) -> dict[str, Record]:
        """The records of those of ``handles`` that exist, by handle text, read in one statement."""
        keys = {str(handle): handle for handle in handles}
        texts = await self.db.values_texts(list(keys))
        return {key: Record(keys[key], decode_values(text)) for key, text in texts.items()}

    async def put(
        self,
        principal: Principal,
        handle: Handle,
        values: Sequence[HandleValue],
        *,
        overwrite: bool = True,
        indexes: IndexSelection = None,
        template_version: str | None = None,
        audit: AuditNote | None = None,
        seen: bool = False,
    ) -> bool:
        """Create or change a record the way Handle's PUT does; True when it was created.

        Without ``indexes`` the body replaces the whole record (``overwrite=False``: only if
        the handle is new). With ``indexes`` only those values are added or replaced
        (``overwrite=False``: only added). Index 1001 is the node's; a record registered with
        a template version stays within that template, as the SNMS API keeps it. ``audit``
        records the write as that administrative action, in its transaction. ``seen``: the
        caller saw the handle registered a moment ago (a cached answer), so the record is not
        first tried as a new one; a hint only, right whatever happened since.
        """
        check_writable(principal, handle)
        return await self._put(handle, values, overwrite, indexes, template_version, audit, seen)

    async def _put(
        self,
        handle: Handle,
        values: Sequence[HandleValue],
        overwrite: bool,
        indexes: IndexSelection = None,
        template_version: str | None = None,
        audit: AuditNote | None = None,
        seen: bool = False,
    ) -> bool:
        key = str(handle)
        check_reserved(key, (value.index for value in values))
        now = datetime.now(UTC)
        # The text sealed for the first try, when it is what is stored after all.
        first: tuple[list[HandleValue], str] | None = None
        # Seen registered: straight to the row lock (which finds it gone, if it went since).
        exists = seen
        if indexes is None and not template_version and audit is None and not seen:
            # A whole record, tried as a new one in one statement of its own where storage can.
            new_values = stamp_values(values, utc_timestamp(now))
            first = (new_values, self.writer.seal_text(handle, new_values))
            done = await self.writer.insert_alone(handle, first[1], template_version, now=now)
            if done:
                return True
            exists = done is False
            if exists and not overwrite:
                raise HandleAlreadyExists(f"handle {key} already exists", handle=key)
        async with self.writer.transaction(now=now) as tx:
            values = tx.stamped(values)
            if indexes is None and not exists:
                # A whole record: try it as a new one first (no locking read before the insert);
                # a handle that exists writes nothing and is then replaced under its row lock.
                if first is None:
                    new_values = await self._templated(
                        tx.session, handle, values, template_version, tx.stamp
                    )
                    first = (new_values, tx.seal_text(handle, new_values))
                if await tx.insert(handle, first[1], template_version):
                    if audit is not None:
                        await tx.audit(audit.action, audit.target, audit.summary)
                    return True
                if not overwrite:
                    raise HandleAlreadyExists(f"handle {key} already exists", handle=key)
            row = await tx.lock(key)
            if indexes is None:
                if row is not None and not overwrite:
                    raise HandleAlreadyExists(f"handle {key} already exists", handle=key)
                merged = values
            else:
                if row is None:
                    raise HandleNotFound(f"handle {key} does not exist", handle=key)
                merged = self._merge(key, decode_values(row.values), values, indexes, overwrite)
            version = (
                template_version if template_version is not None else (row and row.template_version)
            )
            merged = await self._templated(tx.session, handle, merged, version, tx.stamp)
            # The text sealed for the first try, when it is what is stored after all.
            sealed = first[1] if first is not None and first[0] == merged else None
            await tx.put(handle, merged, version, new=row is None, sealed=sealed)
            if audit is not None:
                await tx.audit(audit.action, audit.target, audit.summary)
        return row is None

    @staticmethod
    def _merge(
        key: str,
        old: Sequence[HandleValue],
        new: Sequence[HandleValue],
        indexes: IndexSelection,
        overwrite: bool,
    ) -> list[HandleValue]:
        if indexes != "various":
            allowed = set(indexes or ())
            stray = sorted(v.index for v in new if v.index not in allowed)
            if stray:
                raise InvalidValue(
                    f"values with index {stray} are not among the index parameters {sorted(allowed)}",
                    handle=key,
                )
        by_index = {value.index: value for value in old}
        if not overwrite:
            taken = sorted(v.index for v in new if v.index in by_index)
            if taken:
                raise ValueAlreadyExists(f"values with index {taken} already exist", handle=key)
        by_index.update((value.index, value) for value in new)
        return sorted(by_index.values(), key=lambda v: v.index)

    @staticmethod
    async def _templated(
        session: AsyncSession,
        handle: Handle,
        values: Sequence[HandleValue],
        version: str | None,
        stamp: str,
    ) -> list[HandleValue]:
        if not version:
            return list(values)
        key = str(handle)
        template = await stored_template(session, key, handle.prefix, version)
        return reapply_template(key, values, template, stamp)

    async def mint(
        self, principal: Principal, prefix: Prefix, stem: str, values: Sequence[HandleValue]
    ) -> Handle:
        """Register ``values`` under a new suffix ``<stem><uuid>`` the node chooses."""
        # A minted suffix is never the credentials record's: owning the prefix is enough.
        principal.require_owner(prefix, handle=f"{prefix}/{stem}")
        handle = Handle.parse(f"{prefix}/{stem}{uuid.uuid4()}")
        await self._put(handle, values, overwrite=False)
        return handle

    async def delete(
        self, principal: Principal, handle: Handle, indexes: Collection[int] | None = None
    ) -> None:
        """Delete a record, or only the values at ``indexes`` (both in the audit log)."""
        check_writable(principal, handle)
        key = str(handle)
        check_reserved(key, indexes or ())
        async with self.writer.transaction() as tx:
            if not indexes:
                if not await tx.delete(key):
                    raise HandleNotFound(f"handle {key} does not exist", handle=key)
                return
            row = await tx.lock(key)
            if row is None:
                raise HandleNotFound(f"handle {key} does not exist", handle=key)
            old = decode_values(row.values)
            kept = [value for value in old if value.index not in set(indexes)]
            if len(kept) == len(old):
                raise ValuesNotFound(
                    f"handle {key} has no values at index {sorted(indexes)}", handle=key
                )
            kept = await self._templated(tx.session, handle, kept, row.template_version, tx.stamp)
            await tx.put(handle, kept, row.template_version, new=False)
            removed = sorted({value.index for value in old} & set(indexes))
            await tx.audit("handle.delete_values", key, {"indexes": removed})

    async def page(
        self, principal: Principal, prefix: Prefix, page: int | None, page_size: int | None
    ) -> tuple[int, list[str]]:
        """Handles under ``prefix``, ordered; ``page`` counts from 0."""
        principal.require_owner(prefix)
        if page is not None and page < 0:
            raise InvalidInput("page must be 0 or more")
        if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"pageSize must be from 1 to {MAX_PAGE_SIZE}")
        size = page_size or MAX_PAGE_SIZE
        if (page or 0) * size > MAX_OFFSET:
            raise InvalidInput(
                f"page {page} is past the end: page x pageSize must be at most {MAX_OFFSET}"
            )
        async with self.db.read() as session:
            return await Records(session).page(str(prefix), (page or 0) * size, size)
