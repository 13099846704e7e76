"""Reading and writing records: Handle semantics, authorization and the outbox in one place."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar, runtime_checkable

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ._database import Database
from ._errors import (
    Forbidden,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidInput,
    InvalidValue,
    NodeError,
    ValueAlreadyExists,
    ValuesNotFound,
)
from ._grammar import Handle, Prefix
from ._principal import Principal
from ._repository import Outbox, Records
from ._templates import check_reserved, reapply_template, stored_template
from ._values import HandleValue, Record, utc_timestamp

__all__ = [
    "BatchSealer",
    "ChangeListener",
    "IndexSelection",
    "RecordService",
    "SealItems",
    "Sealer",
    "change_payload",
    "decode_values",
    "each_or_refusal",
    "encode_values",
    "seal_each",
]

ChangeListener = Callable[[Sequence[str]], Awaitable[None]]
# Called on every write path with the values about to be stored; returns what is stored
# (the trust layer adds or refreshes signatures here; what it returns is stored in the write's
# transaction, so a record and its signature commit together).
Sealer = Callable[[Handle, list[HandleValue]], list[HandleValue]]
# A batch's records to seal: each handle with the values about to be stored.
SealItems = Sequence[tuple[Handle, list[HandleValue]]]

A = TypeVar("A")
B = TypeVar("B")

IndexSelection = Collection[int] | Literal["various"] | None
ADMIN_SUFFIX = "ADMIN"
MAX_PAGE_SIZE = 10_000
# The largest offset both backends can take (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1


def encode_values(values: Sequence[HandleValue]) -> str:
    return orjson.dumps([value.to_storage() for value in values]).decode()


def decode_values(text: str) -> tuple[HandleValue, ...]:
    return tuple(HandleValue.from_storage(item) for item in orjson.loads(text))


@runtime_checkable
class BatchSealer(Protocol):
    """A sealer that also seals a whole batch at once (the trust layer, over its process pool)."""

    def __call__(self, handle: Handle, values: list[HandleValue]) -> list[HandleValue]: ...

    async def seal_many(self, items: SealItems) -> list[str | NodeError]: ...


def each_or_refusal(
    work: Callable[[A, B], str], items: Iterable[tuple[A, B]]
) -> list[str | NodeError]:
    """``work(*item)`` for each item, or the ``NodeError`` that refused the item."""
    results: list[str | NodeError] = []
    for first, second in items:
        try:
            results.append(work(first, second))
        except NodeError as exc:
            results.append(exc)
    return results


def seal_each(sealer: Sealer, items: SealItems) -> list[str | NodeError]:
    """Each item's sealed values as stored text, or the ``NodeError`` that refused the item."""
    return each_or_refusal(lambda handle, values: encode_values(sealer(handle, values)), items)


def _check_not_admin_handle(principal: Principal, handle: Handle) -> None:
    if handle.suffix == ADMIN_SUFFIX and not principal.is_admin:
        raise Forbidden(
            f"{handle} holds the prefix's credentials and is managed by the node;"
            " use the credential commands instead",
            handle=str(handle),
        )


class RecordService:
    """Registers, changes, deletes and reads records; tells listeners after each commit."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[ChangeListener] = []
        self._sealer: Sealer | None = None

    def add_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(handles)`` after every committed change, before it is acknowledged."""
        self._listeners.append(listener)

    def set_sealer(self, sealer: Sealer | None) -> None:
        """Pass the values of every write through ``sealer`` before they are stored."""
        self._sealer = sealer

    def seal(self, handle: Handle, values: Sequence[HandleValue]) -> list[HandleValue]:
        """The values to store for ``handle``: every write path calls this (or ``seal_many``)."""
        return list(values) if self._sealer is None else self._sealer(handle, list(values))

    async def seal_many(self, items: SealItems) -> list[str | NodeError]:
        """``seal`` for a batch: each item's stored text, or the ``NodeError`` that refused it."""
        if isinstance(self._sealer, BatchSealer):
            return await self._sealer.seal_many(items)
        return seal_each(self.seal, items)

    async def notify(self, handles: Sequence[str]) -> None:
        for listener in self._listeners:
            await listener(handles)

    async def get(self, handle: Handle) -> Record | None:
        key = str(handle)
        text = await self.db.lookup(lambda connection: Records(connection).get_values_text(key))
        return None if text is None else Record(handle, decode_values(text))

    async def put(
        self,
        principal: Principal,
        handle: Handle,
        values: Sequence[HandleValue],
        *,
        overwrite: bool = True,
        indexes: IndexSelection = None,
        template_version: str | None = None,
    ) -> bool:
        """Create or change a record the way Handle's PUT does; True when it was created.

        Without ``indexes`` the body replaces the whole record (``overwrite=False``: only if
        the handle is new). With ``indexes`` only those values are added or replaced
        (``overwrite=False``: only added). Index 1001 is the node's; a record registered with
        a template version stays within that template, as the SNMS API keeps it.
        """
        key = str(handle)
        principal.require_owner(handle.prefix, handle=key)
        _check_not_admin_handle(principal, handle)
        check_reserved(key, (value.index for value in values))
        now = datetime.now(UTC)
        stamp = utc_timestamp(now)
        values = [value.stamped(stamp) for value in values]
        async with self.db.write() as session:
            records = Records(session)
            row = await records.get(key, for_update=True)
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
            merged = await self._templated(session, handle, merged, version, stamp)
            text = encode_values(self.seal(handle, merged))
            try:
                if row is None:
                    await records.insert(key, str(handle.prefix), text, now, version)
                else:
                    await records.update(key, text, now, version)
            except IntegrityError as exc:
                raise HandleAlreadyExists(f"handle {key} already exists", handle=key) from exc
            await Outbox(session).append("handle.upsert", key, change_payload(key), now)
        await self.notify([key])
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
        handle = Handle.parse(f"{prefix}/{stem}{uuid.uuid4()}")
        await self.put(principal, handle, values, overwrite=False)
        return handle

    async def delete(
        self, principal: Principal, handle: Handle, indexes: Collection[int] | None = None
    ) -> None:
        """Delete a record, or only the values at ``indexes``."""
        key = str(handle)
        principal.require_owner(handle.prefix, handle=key)
        _check_not_admin_handle(principal, handle)
        check_reserved(key, indexes or ())
        now = datetime.now(UTC)
        async with self.db.write() as session:
            records = Records(session)
            if not indexes:
                if not await records.delete(key):
                    raise HandleNotFound(f"handle {key} does not exist", handle=key)
                await Outbox(session).append("handle.delete", key, change_payload(key), now)
            else:
                row = await records.get(key, for_update=True)
                if row is None:
                    raise HandleNotFound(f"handle {key} does not exist", handle=key)
                old = decode_values(row.values)
                kept = [value for value in old if value.index not in set(indexes)]
                if len(kept) == len(old):
                    raise ValuesNotFound(
                        f"handle {key} has no values at index {sorted(indexes)}", handle=key
                    )
                kept = await self._templated(
                    session, handle, kept, row.template_version, utc_timestamp(now)
                )
                text = encode_values(self.seal(handle, kept))
                await records.update(key, text, now, row.template_version)
                await Outbox(session).append("handle.upsert", key, change_payload(key), now)
        await self.notify([key])

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


def change_payload(handle: str) -> dict[str, object]:
    """The outbox payload of a change to a record: its handle alone.

    The shipper adds an upsert's values as the record holds them when the change ships (see
    ``SyncStore``), so a write stores its values once, not a second time in the outbox.
    """
    return {"handle": handle}
