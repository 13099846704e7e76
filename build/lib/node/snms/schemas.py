"""SNMS request and response shapes: records as ``{handle, templateVersion, value[]}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry import (
    MAX_BATCH_ITEMS,
    Handle,
    HandleValue,
    InvalidInput,
    InvalidValue,
    Record,
    RecordDraft,
    check_version,
    parse_values,
)

__all__ = [
    "batch_items",
    "item_handle",
    "parse_draft",
    "parse_handle_item",
    "record_detail",
    "value_json",
]


def _snms_value(raw: Any, position: int) -> Any:
    """An SNMS value ``{index, type, auth, data}`` in the Handle form (``auth`` = permissions)."""
    if not isinstance(raw, dict):
        raise InvalidValue(f"value #{position} must be an object")
    auth = raw.get("auth")
    if auth is None and "permissions" not in raw:
        return raw
    item = {key: raw[key] for key in ("index", "type", "data", "ttl") if key in raw}
    if auth not in (None, ""):
        item["permissions"] = auth
    return item


def parse_draft(raw: Any) -> RecordDraft:
    """One record of a create or update request."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("an item must be an object with handle, templateVersion and value")
    handle = Handle.parse(raw.get("handle"))
    version = raw.get("templateVersion")
    version = None if version in (None, "") else check_version(version)
    items = raw.get("value", raw.get("values"))
    if items is None:
        raise InvalidValue(f"item {handle} has no 'value' list", handle=str(handle))
    if not isinstance(items, list):
        raise InvalidValue("'value' must be a list of values", handle=str(handle))
    try:
        values = parse_values(
            [_snms_value(v, n) for n, v in enumerate(items, start=1)],
            allow_empty=version is not None,
        )
    except InvalidValue as exc:
        raise InvalidValue(exc.message, handle=str(handle)) from exc
    return RecordDraft(handle, values, version)


def parse_handle_item(raw: Any) -> Handle:
    """One item of a batch delete: a handle, or an object with one."""
    if isinstance(raw, Mapping):
        raw = raw.get("handle")
    return Handle.parse(raw)


def item_handle(raw: Any) -> str:
    """The handle an item names, as sent, for its result line."""
    if isinstance(raw, Mapping):
        raw = raw.get("handle")
    return raw if isinstance(raw, str) else ""


def batch_items(body: Any) -> list[Any]:
    """The items of a batch body: a JSON array, or an object whose ``data`` is one."""
    items = body.get("data") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        raise InvalidInput('a batch body must be a JSON array of items (or {"data": [...]})')
    if not items:
        raise InvalidInput("the batch is empty")
    if len(items) > MAX_BATCH_ITEMS:
        raise InvalidInput(f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(items)}")
    return items


def value_json(value: HandleValue) -> dict[str, Any]:
    """An SNMS value: ``{index, type, auth, data: {format, value}}``."""
    return {
        "index": value.index,
        "type": value.type,
        "auth": str(value.permissions),
        "data": {"format": value.format, "value": value.value},
    }


def record_detail(record: Record, template_version: str | None) -> dict[str, Any]:
    """The ``data`` of ``GET /identityv2/data/detail``."""
    return {
        "prefix": str(record.handle.prefix),
        "handle": str(record.handle),
        "templateVersion": template_version or "",
        "value": [value_json(value) for value in record.values],
    }
