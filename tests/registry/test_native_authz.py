"""Handle.Net's authorization: HS_ADMIN bits, identities matched case-insensitively in the
prefix, HS_VLIST groups followed (cycles and depth bounded), per-operation permission needs."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence

import pytest

from registry import Forbidden, HandleValue, Permissions, ValuesNotFound
from registry.codec.native.admin import AdminPerm, AdminRecord, ValueRef, encode_admin
from registry.trust.native_authz import (
    is_authorized,
    matches,
    perms_to_add,
    perms_to_modify,
    perms_to_overwrite,
    perms_to_remove,
)

P = AdminPerm
ME = ValueRef("88.118.8/ADMIN", 300)


def _admin(handle: str, index: int, bits: str = "011111110011", at: int = 100) -> HandleValue:
    data = {"handle": handle, "index": index, "permissions": bits}
    return HandleValue(at, "HS_ADMIN", "admin", data)


def _vlist(at: int, *refs: tuple[str, int]) -> HandleValue:
    return HandleValue(at, "HS_VLIST", "vlist", [{"handle": h, "index": i} for h, i in refs])


class Groups:
    """Records by handle; counts look-ups."""

    def __init__(self, records: dict[str, Sequence[HandleValue]]) -> None:
        self.records = records
        self.lookups: list[ValueRef] = []

    async def __call__(self, ref: ValueRef) -> Sequence[HandleValue]:
        self.lookups.append(ref)
        return [v for v in self.records.get(ref.handle, ()) if v.index == ref.index]


def _check(values: Sequence[HandleValue], needed: P, groups: Groups | None = None, who=ME) -> bool:
    return asyncio.run(is_authorized(who, needed, values, groups or Groups({})))


def test_matching_ignores_case_in_the_prefix_only_and_index_zero_is_any() -> None:
    assert matches(ValueRef("88.118.8/ADMIN", 300), ValueRef("88.118.8/ADMIN", 300))
    assert matches(ValueRef("88.118.8a/ADMIN", 300), ValueRef("88.118.8A/ADMIN", 300))
    assert not matches(ValueRef("88.118.8/admin", 300), ValueRef("88.118.8/ADMIN", 300))
    assert matches(ValueRef("0.na/88.118.8", 1), ValueRef("0.NA/88.118.8", 1))
    assert matches(ValueRef("88.118.8/ADMIN", 0), ME)
    assert not matches(ValueRef("88.118.8/ADMIN", 301), ME)


def test_a_direct_admin_with_the_bits_is_authorized() -> None:
    values = [_admin("88.118.8/ADMIN", 300)]
    assert _check(values, P.ADD_VALUE | P.REMOVE_VALUE)
    assert not _check(values, P.LIST_HANDLES)  # that bit is off in 011111110011
    assert not _check(values, P.ADD_VALUE, who=ValueRef("88.118.8/ADMIN", 301))
    assert not _check([HandleValue(1, "URL", "string", "x")], P.ADD_VALUE)


def test_bits_must_all_come_from_one_admin_value() -> None:
    values = [
        _admin("88.118.8/ADMIN", 300, bits=P.ADD_VALUE.bits(), at=100),
        _admin("88.118.8/ADMIN", 300, bits=P.REMOVE_VALUE.bits(), at=101),
    ]
    assert _check(values, P.ADD_VALUE)
    assert not _check(values, P.ADD_VALUE | P.REMOVE_VALUE)


def test_binary_admin_data_counts_too() -> None:
    raw = encode_admin(AdminRecord(P.DELETE_HANDLE, ME))
    value = HandleValue(100, "HS_ADMIN", "base64", base64.b64encode(raw).decode())
    assert _check([value], P.DELETE_HANDLE)


def test_groups_are_followed_through_nested_vlists() -> None:
    groups = Groups(
        {
            "88.118.8/GROUPS": [_vlist(200, ("88.118.8/TEAM", 200))],
            "88.118.8/TEAM": [_vlist(200, ("88.118.8/ADMIN", 300))],
        }
    )
    values = [_admin("88.118.8/GROUPS", 200)]
    assert _check(values, P.ADD_VALUE, groups)
    assert not _check(values, P.ADD_VALUE, groups, who=ValueRef("88.118.8/OTHER", 300))


def test_group_cycles_end_and_lookups_are_bounded() -> None:
    cyclic = Groups(
        {
            "88.118.8/A": [_vlist(200, ("88.118.8/B", 200))],
            "88.118.8/B": [_vlist(200, ("88.118.8/A", 200))],
        }
    )
    assert not _check([_admin("88.118.8/A", 200)], P.ADD_VALUE, cyclic)
    assert len(cyclic.lookups) == 2
    chain = Groups(
        {f"88.118.8/G{i}": [_vlist(200, (f"88.118.8/G{i + 1}", 200))] for i in range(200)}
        | {"88.118.8/G200": [_vlist(200, ("88.118.8/ADMIN", 300))]}
    )
    assert not _check([_admin("88.118.8/G0", 200)], P.ADD_VALUE, chain)
    assert len(chain.lookups) == 64


URL = HandleValue(1, "URL", "string", "https://a")
ADMIN = _admin("88.118.8/ADMIN", 300)
OPEN = HandleValue(2, "NOTE", "string", "x", permissions=Permissions.parse("1111"))
LOCKED = HandleValue(3, "NOTE", "string", "x", permissions=Permissions.parse("1010"))
EXISTING = [URL, OPEN, LOCKED, ADMIN]


def test_permissions_needed_by_each_change() -> None:
    assert perms_to_remove(EXISTING, [1]) == P.REMOVE_VALUE
    assert perms_to_remove(EXISTING, [1, 100]) == P.REMOVE_VALUE | P.REMOVE_ADMIN
    with pytest.raises(ValuesNotFound):
        perms_to_remove(EXISTING, [9])
    changed = HandleValue(1, "URL", "string", "https://b")
    assert perms_to_modify(EXISTING, [changed]) == P.MODIFY_VALUE
    assert perms_to_modify(EXISTING, [URL]) == P.NONE  # unchanged
    assert perms_to_modify(EXISTING, [HandleValue(2, "NOTE", "string", "y")]) == P.NONE
    assert perms_to_modify(EXISTING, [_admin("88.118.8/X", 1, at=100)]) == P.MODIFY_ADMIN
    assert perms_to_modify(EXISTING, [_admin("88.118.8/X", 1, at=1)]) == (
        P.MODIFY_VALUE | P.ADD_ADMIN
    )
    assert perms_to_modify(EXISTING, [HandleValue(100, "URL", "string", "x")]) == (
        P.REMOVE_ADMIN | P.MODIFY_VALUE
    )
    with pytest.raises(ValuesNotFound):
        perms_to_modify(EXISTING, [HandleValue(9, "URL", "string", "x")])
    with pytest.raises(Forbidden):
        perms_to_modify(EXISTING, [HandleValue(3, "NOTE", "string", "y")])
    assert perms_to_add(EXISTING, [HandleValue(5, "URL", "string", "x")]) == P.ADD_VALUE
    assert perms_to_add(EXISTING, [_admin("88.118.8/X", 1, at=101)]) == P.ADD_ADMIN
    assert perms_to_overwrite(EXISTING, [URL, ADMIN]) == P.REMOVE_VALUE
    assert perms_to_overwrite(EXISTING, [URL, OPEN, LOCKED]) == P.REMOVE_ADMIN
