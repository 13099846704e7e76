"""Handle values: the typed entries of a record, validated on the way in."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ._errors import InvalidIdentifier, InvalidValue
from ._grammar import Handle

__all__ = [
    "DEFAULT_TTL",
    "FORMATS",
    "MAX_DATA_DEPTH",
    "MAX_INDEX",
    "HandleValue",
    "Permissions",
    "Record",
    "decode_values",
    "encode_values",
    "parse_index",
    "parse_value",
    "parse_values",
    "stamp_values",
    "stored_value",
    "utc_timestamp",
]

MAX_INDEX = 2**31 - 1
DEFAULT_TTL = 86400
MAX_TYPE_LENGTH = 128
# Site and key data are objects a few levels deep (HS_SITE's servers and interfaces, a JWK).
MAX_DATA_DEPTH = 32
_INT64 = -(2**63)
_UINT64 = 2**64
_DIGITS = re.compile(r"[0-9]+")
_INDEX_DIGITS = len(str(MAX_INDEX))
FORMATS = frozenset({"string", "base64", "hex", "admin", "vlist", "site", "key"})
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_PERMISSION_BITS = re.compile(r"[01]{1,12}")
# Types whose values hold secrets: not readable by the public unless asked otherwise.
_PRIVATE_TYPES = frozenset({"HS_SECKEY"})


def utc_timestamp(moment: datetime | None = None) -> str:
    """An ISO 8601 UTC timestamp with second precision, as Handle servers print them."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_PERMISSIONS: dict[str, Permissions] = {}


@dataclass(frozen=True, slots=True)
class Permissions:
    """Who may read and write a value (Handle's four permission bits)."""

    admin_read: bool = True
    admin_write: bool = True
    public_read: bool = True
    public_write: bool = False

    @classmethod
    def parse(cls, text: str) -> Permissions:
        """Parse the four-bit form ``"1110"`` (admin read, admin write, public read, public write)."""
        known = _PERMISSIONS.get(text) if type(text) is str else None
        if known is not None:
            return known
        if not isinstance(text, str) or not re.fullmatch(r"[01]{4}", text):
            raise InvalidValue(
                "permissions must be four bits '<adminRead><adminWrite><publicRead><publicWrite>',"
                f" e.g. '1110'; got {text!r}"
            )
        parsed = cls(*(bit == "1" for bit in text))
        # Sixteen possible values, parsed for every value stored or read.
        _PERMISSIONS[text] = parsed
        return parsed

    def __str__(self) -> str:
        # Written out: this runs for every value stored, and a generator costs several times more.
        return (
            ("1" if self.admin_read else "0")
            + ("1" if self.admin_write else "0")
            + ("1" if self.public_read else "0")
            + ("1" if self.public_write else "0")
        )


PUBLIC = Permissions()
PRIVATE = Permissions(public_read=False)


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One value of a record."""

    index: int
    type: str
    format: str
    value: Any
    ttl: int = DEFAULT_TTL
    timestamp: str | None = None
    permissions: Permissions = PUBLIC

    def to_json(self) -> dict[str, Any]:
        """The Handle REST form: ``{index, type, data: {format, value}, ttl, timestamp}``.

        Permissions other than the default ``1110`` are added (only those who may read such a
        value see it): a signature's digest covers them, so a verifier needs them.
        """
        body = {
            "index": self.index,
            "type": self.type,
            "data": {"format": self.format, "value": self.value},
            "ttl": self.ttl,
            "timestamp": self.timestamp,
        }
        if self.permissions != PUBLIC:
            body["permissions"] = str(self.permissions)
        return body

    def to_storage(self) -> dict[str, Any]:
        """The stored form, which also keeps the permissions."""
        return stored_value(
            self.index,
            self.type,
            self.format,
            self.value,
            self.ttl,
            self.timestamp,
            str(self.permissions),
        )

    @classmethod
    def from_storage(cls, stored: Mapping[str, Any]) -> HandleValue:
        """Rebuild a value from its stored form (trusted: it was validated on the way in)."""
        data = stored["data"]
        return cls(
            index=stored["index"],
            type=stored["type"],
            format=data["format"],
            value=data["value"],
            ttl=stored.get("ttl", DEFAULT_TTL),
            timestamp=stored.get("timestamp"),
            permissions=Permissions.parse(stored.get("permissions", "1110")),
        )

    def stamped(self, timestamp: str) -> HandleValue:
        """The same value with the node's timestamp."""
        # Direct construction: dataclasses.replace costs several times more per value.
        return HandleValue(
            self.index, self.type, self.format, self.value, self.ttl, timestamp, self.permissions
        )


def stored_value(
    index: int, kind: str, fmt: str, value: Any, ttl: int, timestamp: str | None, permissions: str
) -> dict[str, Any]:
    """A value's stored form (``HandleValue.to_storage``), from its fields."""
    return {
        "index": index,
        "type": kind,
        "data": {"format": fmt, "value": value},
        "ttl": ttl,
        "timestamp": timestamp,
        "permissions": permissions,
    }


def stamp_values(values: Iterable[HandleValue], timestamp: str) -> list[HandleValue]:
    """Every value with the node's timestamp: each write stamps the values it was sent."""
    return [value.stamped(timestamp) for value in values]


def encode_values(values: Sequence[HandleValue]) -> str:
    """A record's values as stored: JSON of each value's stored form."""
    return orjson.dumps([value.to_storage() for value in values]).decode()


def decode_values(text: str) -> tuple[HandleValue, ...]:
    """The values of a record's stored text."""
    return tuple(HandleValue.from_storage(item) for item in orjson.loads(text))


@dataclass(frozen=True, slots=True)
class Record:
    """A handle and its values, ordered by index."""

    handle: Handle
    values: tuple[HandleValue, ...]

    def public(self) -> Record:
        """Only the values anonymous callers may read."""
        return Record(self.handle, tuple(v for v in self.values if v.permissions.public_read))

    def select(
        self, indexes: Iterable[int] = (), types: Iterable[str] = ()
    ) -> tuple[HandleValue, ...]:
        """Values matching any of ``indexes`` or ``types``; all values when both are empty."""
        indexes, types = set(indexes), set(types)
        if not indexes and not types:
            return self.values
        return tuple(v for v in self.values if v.index in indexes or v.type in types)

    def first_url(self) -> str | None:
        """The data of the lowest-indexed public ``URL`` value, if any."""
        for value in self.values:
            if value.type == "URL" and value.permissions.public_read and value.format == "string":
                return value.value
        return None


def _field(item: Mapping[str, Any], name: str, position: int) -> Any:
    if name not in item:
        raise InvalidValue(f"value #{position} has no {name!r}")
    return item[name]


def parse_index(raw: Any, where: str) -> int:
    """An index from a body or a query: an integer, or a string of ASCII digits, 1..2^31-1."""
    # JSON parsers hand integers past 64 bits over as floats; judge them by size, not type.
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and _DIGITS.fullmatch(raw):
        digits = raw.lstrip("0") or "0"
        # Judged before int(): a 5,000-digit string is out of range, not worth converting.
        if len(digits) > _INDEX_DIGITS:
            raise InvalidValue(f"{where}: index of {len(digits)} digits is outside 1..{MAX_INDEX}")
        raw = int(digits)
    if isinstance(raw, bool) or not isinstance(raw, int):
        shown = f"{raw[:20]!r}..." if isinstance(raw, str) and len(raw) > 20 else repr(raw)
        raise InvalidValue(f"{where}: index must be an integer of ASCII digits, got {shown}")
    if not 1 <= raw <= MAX_INDEX:
        # str() of a huge int is itself refused past 4,300 digits: count them from the bits.
        shown = str(raw) if abs(raw) < 10**20 else f"of about {raw.bit_length() * 3 // 10} digits"
        raise InvalidValue(f"{where}: index {shown} is outside 1..{MAX_INDEX}")
    return raw


def _check_structure(value: Any, where: str, fmt: str) -> None:
    """Structured (site, key) data: at most ``MAX_DATA_DEPTH`` levels, exact 64-bit integers."""
    # Iterative, so a deep value is refused without recursion; orjson itself writes at most
    # 255 levels and keeps integers exactly only within 64 bits (it reads larger ones as floats).
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        elif isinstance(node, float):
            raise InvalidValue(
                f"{where}: {fmt} data holds the number {node!r}; numbers in {fmt} data must be"
                f" integers from -2^63 to 2^64-1 (larger ones cannot be kept exactly)"
            )
        elif isinstance(node, int) and not isinstance(node, bool) and not _INT64 <= node < _UINT64:
            raise InvalidValue(
                f"{where}: {fmt} data holds an integer outside -2^63..2^64-1,"
                " which cannot be kept exactly"
            )
        else:
            continue
        if depth > MAX_DATA_DEPTH:
            raise InvalidValue(
                f"{where}: {fmt} data is nested more than {MAX_DATA_DEPTH} levels deep"
            )
        stack.extend((child, depth + 1) for child in children)


def _check_admin(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{where}: admin data must be an object with handle, index, permissions")
    handle = value.get("handle")
    try:
        Handle.parse(handle)
    except InvalidIdentifier as exc:
        raise InvalidValue(f"{where}: admin handle is invalid: {exc.message}") from exc
    index = parse_index(value.get("index"), f"{where}: admin")
    permissions = value.get("permissions", "011111110011")
    if not isinstance(permissions, str) or not _PERMISSION_BITS.fullmatch(permissions):
        raise InvalidValue(f"{where}: admin permissions must be up to 12 bits of 0/1")
    return {"handle": str(Handle.parse(handle)), "index": index, "permissions": permissions}


def _check_vlist(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InvalidValue(f"{where}: vlist data must be a list of {{handle, index}}")
    checked = []
    for entry in value:
        if not isinstance(entry, Mapping):
            raise InvalidValue(f"{where}: vlist entries must be objects with handle and index")
        try:
            handle = str(Handle.parse(entry.get("handle")))
        except InvalidIdentifier as exc:
            raise InvalidValue(f"{where}: vlist handle is invalid: {exc.message}") from exc
        checked.append({"handle": handle, "index": parse_index(entry.get("index"), where)})
    return checked


def _check_data(data: Any, where: str) -> tuple[str, Any]:
    if isinstance(data, str):
        return "string", data
    if not isinstance(data, Mapping):
        raise InvalidValue(f"{where}: data must be a string or an object with format and value")
    fmt = data.get("format", "string")
    if fmt not in FORMATS:
        raise InvalidValue(f"{where}: unknown data format {fmt!r}; use one of {sorted(FORMATS)}")
    if "value" not in data:
        raise InvalidValue(f"{where}: data has no 'value'")
    value = data["value"]
    if fmt in ("string", "base64", "hex") and not isinstance(value, str):
        raise InvalidValue(f"{where}: {fmt} data must be a string")
    if fmt == "base64":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidValue(f"{where}: data is not valid base64") from exc
    elif fmt == "hex" and not _HEX.fullmatch(value):
        raise InvalidValue(f"{where}: data is not valid hex (pairs of 0-9, a-f)")
    elif fmt == "admin":
        value = _check_admin(value, where)
    elif fmt == "vlist":
        value = _check_vlist(value, where)
    elif fmt == "site" and not isinstance(value, Mapping | str):
        raise InvalidValue(f"{where}: site data must be an object or a string")
    elif fmt == "key" and not isinstance(value, Mapping | str):
        raise InvalidValue(f"{where}: key data must be a string or a JWK object")
    elif fmt in ("site", "key") and isinstance(value, Mapping):
        _check_structure(value, where, fmt)
    return fmt, value


def _string_data(data: Any) -> str | None:
    """The text of plain string data (a bare string or ``{format: string, value: "..."}``)."""
    # The common case of every batch, judged without the general checks' isinstance calls.
    if type(data) is str:
        return data
    if type(data) is dict and data.get("format", "string") == "string":
        value = data.get("value")
        if type(value) is str:
            return value
    return None


def parse_value(item: Any, position: int = 1) -> HandleValue:
    """Validate one value as it arrives in a request body."""
    if type(item) is not dict and not isinstance(item, Mapping):
        raise InvalidValue(f"value #{position} must be an object")
    index = _field(item, "index", position)
    # Exact ints in range need none of parse_index's coercions (bool is not exactly int).
    if type(index) is not int or not 1 <= index <= MAX_INDEX:
        index = parse_index(index, f"value #{position}")
    kind = _field(item, "type", position)
    if not isinstance(kind, str) or not 1 <= len(kind) <= MAX_TYPE_LENGTH or not kind.isprintable():
        raise InvalidValue(
            f"value index {index}: type must be 1-{MAX_TYPE_LENGTH} printable characters"
        )
    data = _field(item, "data", position)
    text = _string_data(data)
    if text is not None:
        fmt, value = "string", text
    else:
        fmt, value = _check_data(data, f"value index {index}")
    ttl = item.get("ttl", DEFAULT_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_INDEX:
        raise InvalidValue(
            f"value index {index}: ttl must be a whole number of seconds from 0 to {MAX_INDEX}"
        )
    raw_permissions = item.get("permissions")
    if raw_permissions is None:
        permissions = PRIVATE if kind in _PRIVATE_TYPES else PUBLIC
    else:
        permissions = Permissions.parse(raw_permissions)
    return HandleValue(index, kind, fmt, value, ttl, None, permissions)


def parse_values(items: Any, *, allow_empty: bool = False) -> tuple[HandleValue, ...]:
    """Validate a list of values: each value valid, indexes unique; sorted by index."""
    if not isinstance(items, list):
        raise InvalidValue("'values' must be a list of values")
    if not items and not allow_empty:
        raise InvalidValue("'values' is empty; a record needs at least one value")
    values = [parse_value(item, position) for position, item in enumerate(items, start=1)]
    seen: set[int] = set()
    for value in values:
        if value.index in seen:
            raise InvalidValue(f"index {value.index} appears more than once")
        seen.add(value.index)
    return tuple(sorted(values, key=lambda v: v.index))
