"""Who may administer a handle over the native protocol: Handle.Net's HS_ADMIN / HS_VLIST rules.

An identity ``index:handle`` may do an operation on a record when one of the record's HS_ADMIN
values grants every permission bit the operation needs and names the identity — directly, or
through HS_VLIST groups it names (followed breadth-first, each group once, a bounded number of
look-ups; ``HandleServer.adminHasPermission``/``isAdminInGroup``). The bits an operation needs
depend on what it changes (``doRemoveValue``, ``doModifyValue``, ``doAddValue``,
``doCreateHandle``): changing HS_ADMIN values needs the admin bits, other values the value bits.

Pure apart from ``lookup``, the caller's way to read a group's values.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence

from .._errors import Forbidden, ValuesNotFound
from .._values import HandleValue
from ..codec.native.admin import AdminPerm, AdminRecord, ValueRef, decode_admin, decode_vlist
from ..codec.native.wire import ProtocolError

__all__ = [
    "GroupLookup",
    "admin_records",
    "is_authorized",
    "matches",
    "perms_to_add",
    "perms_to_modify",
    "perms_to_overwrite",
    "perms_to_remove",
    "vlist_refs",
]

# lookup(ref) -> the values of ref.handle at index ref.index (empty when there are none).
GroupLookup = Callable[[ValueRef], Awaitable[Sequence[HandleValue]]]
MAX_GROUP_LOOKUPS = 64
ADMIN_TYPE, VLIST_TYPE = "HS_ADMIN", "HS_VLIST"
_GLOBAL = "0."


def _fold(handle: str) -> str:
    # equalsPrefixCI: ASCII case is ignored in the prefix, or everywhere in a global (0.*) handle.
    if handle.startswith(_GLOBAL):
        return handle.translate(_UPPER)
    prefix, slash, suffix = handle.partition("/")
    return prefix.translate(_UPPER) + slash + suffix


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def matches(admin: ValueRef, identity: ValueRef) -> bool:
    """True when ``admin`` names ``identity`` (``ValueReference.isMatchedBy``; index 0: any)."""
    if admin.index not in (0, identity.index):
        return False
    return _fold(admin.handle) == _fold(identity.handle)


def _raw(value: HandleValue) -> bytes | None:
    if value.format == "base64":
        return base64.b64decode(value.value)
    if value.format == "hex":
        return bytes.fromhex(value.value)
    return None


def admin_records(values: Iterable[HandleValue]) -> list[AdminRecord]:
    """The readable HS_ADMIN values among ``values`` (unreadable ones grant nothing)."""
    records = []
    for value in values:
        if value.type != ADMIN_TYPE:
            continue
        try:
            if value.format == "admin":
                records.append(AdminRecord.from_stored(value.value))
            elif (raw := _raw(value)) is not None:
                records.append(decode_admin(raw))
        except (ProtocolError, KeyError, TypeError, ValueError):
            continue
    return records


def vlist_refs(values: Iterable[HandleValue]) -> list[ValueRef]:
    """The references of the readable HS_VLIST values among ``values``."""
    refs: list[ValueRef] = []
    for value in values:
        if value.type != VLIST_TYPE:
            continue
        try:
            if value.format == "vlist":
                refs.extend(ValueRef(item["handle"], item["index"]) for item in value.value)
            elif (raw := _raw(value)) is not None:
                refs.extend(decode_vlist(raw))
        except (ProtocolError, KeyError, TypeError, ValueError):
            continue
    return refs


async def is_authorized(
    identity: ValueRef,
    needed: AdminPerm,
    values: Iterable[HandleValue],
    lookup: GroupLookup,
    *,
    max_lookups: int = MAX_GROUP_LOOKUPS,
) -> bool:
    """True when an HS_ADMIN among ``values`` grants ``needed`` to ``identity``."""
    pending: deque[ValueRef] = deque()
    for record in admin_records(values):
        if record.perms & needed != needed:
            continue
        if matches(record.admin, identity):
            return True
        pending.append(record.admin)
    seen: set[tuple[str, int]] = set()
    lookups = 0
    while pending and lookups < max_lookups:
        group = pending.popleft()
        key = (_fold(group.handle), group.index)
        if key in seen or group.index == 0:
            seen.add(key)
            continue
        seen.add(key)
        lookups += 1
        for member in vlist_refs(await lookup(group)):
            if matches(member, identity):
                return True
            if (_fold(member.handle), member.index) not in seen:
                pending.append(member)
    return False


def _is_admin(value: HandleValue) -> bool:
    return value.type == ADMIN_TYPE


def _same(old: HandleValue, new: HandleValue) -> bool:
    return (old.type, old.format, old.value, old.ttl, old.permissions) == (
        new.type,
        new.format,
        new.value,
        new.ttl,
        new.permissions,
    )


def _change(old: HandleValue, new: HandleValue) -> AdminPerm:
    if _same(old, new):
        return AdminPerm.NONE
    if _is_admin(old) and _is_admin(new):
        return AdminPerm.MODIFY_ADMIN
    if _is_admin(old):
        return AdminPerm.REMOVE_ADMIN | AdminPerm.MODIFY_VALUE
    if _is_admin(new):
        return AdminPerm.MODIFY_VALUE | AdminPerm.ADD_ADMIN
    return AdminPerm.NONE if old.permissions.public_write else AdminPerm.MODIFY_VALUE


def _added(new: HandleValue) -> AdminPerm:
    return AdminPerm.ADD_ADMIN if _is_admin(new) else AdminPerm.ADD_VALUE


def _removed(old: HandleValue) -> AdminPerm:
    return AdminPerm.REMOVE_ADMIN if _is_admin(old) else AdminPerm.REMOVE_VALUE


def perms_to_remove(existing: Sequence[HandleValue], indexes: Iterable[int]) -> AdminPerm:
    """What removing ``indexes`` needs; ``ValuesNotFound`` when one of them is not there."""
    by_index = {value.index: value for value in existing}
    needed = AdminPerm.NONE
    for index in indexes:
        if index not in by_index:
            raise ValuesNotFound(f"there is no value at index {index}")
        needed |= _removed(by_index[index])
    return needed


def perms_to_modify(existing: Sequence[HandleValue], new: Sequence[HandleValue]) -> AdminPerm:
    """What replacing the values at ``new``'s indexes needs.

    ``ValuesNotFound`` when an index is not there; ``Forbidden`` when a value is not writable
    even by its administrators (admin write off).
    """
    by_index = {value.index: value for value in existing}
    needed = AdminPerm.NONE
    for value in new:
        old = by_index.get(value.index)
        if old is None:
            raise ValuesNotFound(f"there is no value at index {value.index} to modify")
        if not old.permissions.admin_write:
            raise Forbidden(f"the value at index {value.index} is read-only")
        needed |= _change(old, value)
    return needed


def perms_to_add(existing: Sequence[HandleValue], new: Sequence[HandleValue]) -> AdminPerm:
    """What adding ``new`` (replacing any value at the same index: OVRW) needs."""
    by_index = {value.index: value for value in existing}
    needed = AdminPerm.NONE
    for value in new:
        old = by_index.get(value.index)
        needed |= _added(value) if old is None else _change(old, value)
    return needed


def perms_to_overwrite(existing: Sequence[HandleValue], new: Sequence[HandleValue]) -> AdminPerm:
    """What replacing the whole record ``existing`` by ``new`` (CREATE with OVRW) needs."""
    kept = {value.index for value in new}
    needed = perms_to_add(existing, new)
    for old in existing:
        if old.index not in kept:
            needed |= _removed(old)
    return needed
