"""Administration over the native protocol: CREATE (OVRW, MINT), DELETE, ADD/REMOVE/MODIFY_VALUE
and LIST_HANDLES, each through the ``RecordService`` (so the record writer: signed, in the
outbox, caches invalidated, visible at once to the REST and SNMS APIs).

Who may: an enterprise credential may change what is under its prefixes, as over REST; any
other identity needs an HS_ADMIN value granting the operation's bits (on the record, or on
``0.NA/<prefix>`` to create or list), directly or through HS_VLIST groups, as Handle.Net rules.
The semantics are Handle.Net's: an existing handle is 101 unless OVRW, adding an existing index
201 unless OVRW, modifying or removing a missing index 200, and the server stamps timestamps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from registry import (
    Handle,
    HandleAlreadyExists,
    HandleNotFound,
    HandleValue,
    InvalidIdentifier,
    Prefix,
    Principal,
    RecordService,
    ValueAlreadyExists,
)
from registry.codec import native
from registry.codec.native import OpCode, OpFlag, ProtocolError, ResponseCode
from registry.codec.native.admin import AdminPerm, ValueRef
from registry.codec.native.admin_bodies import (
    decode_remove_values,
    decode_values_request,
    encode_create_response,
    list_chunks,
)
from registry.trust import (
    is_authorized,
    perms_to_add,
    perms_to_modify,
    perms_to_overwrite,
    perms_to_remove,
)

from .auth import Authenticator, Identity
from .dispatch import Answer, Handler, Request

__all__ = ["MAX_LISTED", "Administration"]

logger = logging.getLogger("idnode.native")

# LIST_HANDLES answers at most this many handles (in messages of 50).
MAX_LISTED = 100_000
_PAGE = 10_000
_DONE = Answer(ResponseCode.SUCCESS, b"")


def _handle(text: str) -> Handle:
    try:
        return Handle.parse(text)
    except InvalidIdentifier as exc:
        raise ProtocolError(exc.message, ResponseCode.INVALID_HANDLE) from exc


def _prefix(text: str) -> Prefix:
    try:
        return Prefix.parse(text)
    except InvalidIdentifier as exc:
        raise ProtocolError(exc.message, ResponseCode.INVALID_HANDLE) from exc


def _need_values(values: Sequence[HandleValue]) -> None:
    if not values:
        raise ProtocolError("the request carries no values", ResponseCode.INVALID_VALUE)


class Administration:
    """The administration opcodes of one node."""

    def __init__(self, records: RecordService, auth: Authenticator) -> None:
        self.records = records
        self.auth = auth

    def handlers(self) -> dict[int, Handler]:
        protect = self.auth.protect
        return {
            OpCode.CREATE_HANDLE: protect(OpCode.CREATE_HANDLE, self.create),
            OpCode.DELETE_HANDLE: protect(OpCode.DELETE_HANDLE, self.delete),
            OpCode.ADD_VALUE: protect(OpCode.ADD_VALUE, self.add_values),
            OpCode.REMOVE_VALUE: protect(OpCode.REMOVE_VALUE, self.remove_values),
            OpCode.MODIFY_VALUE: protect(OpCode.MODIFY_VALUE, self.modify_values),
            OpCode.LIST_HANDLES: protect(OpCode.LIST_HANDLES, self.list_handles),
        }

    async def _values_of(self, handle: Handle) -> tuple[HandleValue, ...] | None:
        record = await self.records.get(handle)
        return None if record is None else record.values

    async def _group(self, ref: ValueRef) -> Sequence[HandleValue]:
        try:
            values = await self._values_of(Handle.parse(ref.handle))
        except InvalidIdentifier:
            return ()
        return tuple(v for v in values or () if v.index == ref.index)

    async def _principal(
        self,
        identity: Identity,
        prefix: Prefix,
        needed: AdminPerm,
        values: Sequence[HandleValue],
        what: str,
    ) -> Principal:
        """Who the write runs as: the identity itself when it holds ``prefix``, else the
        identity as an administrator of this one record, when its HS_ADMIN values say so."""
        principal = identity.principal
        if principal.owns(prefix):
            return principal
        if await is_authorized(identity.ref, needed, values, self._group):
            return Principal(
                principal.role,
                principal.username,
                principal.enterprise_id,
                frozenset({str(prefix)}),
            )
        raise ProtocolError(
            f"{identity.ref} is not an administrator of {what} with {needed!r}",
            ResponseCode.INVALID_ADMIN,
        )

    async def _prefix_admin(
        self, identity: Identity, prefix: Prefix, needed: AdminPerm
    ) -> Principal:
        na = await self._values_of(Handle.parse(f"0.NA/{prefix}")) or ()
        return await self._principal(identity, prefix, needed, na, f"0.NA/{prefix}")

    async def create(self, request: Request, identity: Identity) -> Answer:
        wanted = decode_values_request(request.message.body)
        _need_values(wanted.values)
        if request.has(OpFlag.MINT):
            prefix_text, _, stem = wanted.handle.partition("/")
            prefix = _prefix(prefix_text)
            principal = await self._prefix_admin(identity, prefix, AdminPerm.ADD_HANDLE)
            minted = await self.records.mint(principal, prefix, stem, wanted.values)
            return Answer(ResponseCode.SUCCESS, encode_create_response(str(minted)))
        handle = _handle(wanted.handle)
        overwrite = request.has(OpFlag.OVRW)
        existing = await self._values_of(handle)
        if existing is not None and not overwrite:
            raise HandleAlreadyExists(f"handle {handle} already exists", handle=str(handle))
        if existing is None:
            principal = await self._prefix_admin(identity, handle.prefix, AdminPerm.ADD_HANDLE)
        else:
            needed = perms_to_overwrite(existing, wanted.values)
            principal = await self._principal(
                identity, handle.prefix, needed, existing, str(handle)
            )
        await self.records.put(principal, handle, wanted.values, overwrite=overwrite)
        return _DONE

    async def delete(self, request: Request, identity: Identity) -> Answer:
        handle = _handle(native.check_handle(native.decode_handle_request(request.body)))
        existing = await self._values_of(handle)
        if existing is None:
            raise HandleNotFound(f"handle {handle} does not exist", handle=str(handle))
        principal = await self._principal(
            identity, handle.prefix, AdminPerm.DELETE_HANDLE, existing, str(handle)
        )
        await self.records.delete(principal, handle)
        return _DONE

    async def _existing(self, text: str) -> tuple[Handle, tuple[HandleValue, ...]]:
        handle = _handle(text)
        existing = await self._values_of(handle)
        if existing is None:
            raise HandleNotFound(f"handle {handle} does not exist", handle=str(handle))
        return handle, existing

    async def add_values(self, request: Request, identity: Identity) -> Answer:
        wanted = decode_values_request(request.message.body)
        _need_values(wanted.values)
        handle, existing = await self._existing(wanted.handle)
        overwrite = request.has(OpFlag.OVRW)
        taken = sorted({v.index for v in existing} & {v.index for v in wanted.values})
        if taken and not overwrite:
            raise ValueAlreadyExists(f"values with index {taken} already exist", handle=str(handle))
        needed = perms_to_add(existing, wanted.values)
        principal = await self._principal(identity, handle.prefix, needed, existing, str(handle))
        indexes = [v.index for v in wanted.values]
        await self.records.put(principal, handle, wanted.values, overwrite=True, indexes=indexes)
        return _DONE

    async def modify_values(self, request: Request, identity: Identity) -> Answer:
        wanted = decode_values_request(request.message.body)
        _need_values(wanted.values)
        handle, existing = await self._existing(wanted.handle)
        needed = perms_to_modify(existing, wanted.values)
        principal = await self._principal(identity, handle.prefix, needed, existing, str(handle))
        indexes = [v.index for v in wanted.values]
        await self.records.put(principal, handle, wanted.values, overwrite=True, indexes=indexes)
        return _DONE

    async def remove_values(self, request: Request, identity: Identity) -> Answer:
        wanted = decode_remove_values(request.message.body)
        if not wanted.indexes:
            raise ProtocolError("the request names no index to remove", ResponseCode.INVALID_VALUE)
        handle, existing = await self._existing(wanted.handle)
        needed = perms_to_remove(existing, wanted.indexes)
        principal = await self._principal(identity, handle.prefix, needed, existing, str(handle))
        await self.records.delete(principal, handle, wanted.indexes)
        return _DONE

    async def list_handles(self, request: Request, identity: Identity) -> list[Answer]:
        text = native.check_handle(native.decode_handle_request(request.body))
        # "0.NA/88.118.8" names the prefix; a bare "88.118.8" is taken the same way.
        na_prefix, slash, rest = text.partition("/")
        prefix = _prefix(rest if slash and na_prefix.upper() == "0.NA" else text)
        principal = await self._prefix_admin(identity, prefix, AdminPerm.LIST_HANDLES)
        handles: list[str] = []
        page = 0
        while len(handles) < MAX_LISTED:
            total, chunk = await self.records.page(principal, prefix, page, _PAGE)
            handles.extend(chunk)
            if len(chunk) < _PAGE or len(handles) >= total:
                break
            page += 1
        if len(handles) > MAX_LISTED:
            logger.warning("native: list of %s cut at %d handles", prefix, MAX_LISTED)
            handles = handles[:MAX_LISTED]
        return [
            Answer(ResponseCode.SUCCESS, body, flags=OpFlag.CONT if more else 0)
            for body, more in list_chunks(handles)
        ]
