"""Identifiers as DNS owner names under a zone, and back: one name per identifier.

    88.118.8/JXDY2106023  <->  99c48m9i64o3cc1i6c._1.8.118.88.<zone>

The mapping, read from the zone outwards:

- the prefix segments, **reversed** and lower-cased, one label each (``8.118.88``): DNS
  delegation then follows the issuing hierarchy (``88`` → ``88.118`` → ``88.118.8``), as GS1 ONS
  and OID resolution do. Prefixes are case-insensitive, so lower case loses nothing;
- a **marker** label ``_<k>``, ``k`` (1-9, no leading zero) the number of suffix labels. ``_``
  is outside the suffix alphabet, so the first label of that form ends the suffix and a name
  parses one way only; a prefix segment of that form would collide and is refused;
- the suffix, case-sensitive Unicode that may hold ``/`` and ``.``: its UTF-8 bytes in RFC 4648
  **base32hex**, lower case, without padding, cut from the start into labels of 63 characters
  (the last one shorter), first label leftmost.

Why base32hex: DNS compares names case-insensitively (RFC 4343) and resolvers randomise the
case of queries (0x20), so a suffix must be spelt in an alphabet with a single case; base32hex
(``0-9a-v``, the NSEC3 owner alphabet) is the densest standard one and keeps byte order. IDNA
(``xn--``) or Handle.Net's ``hx--`` escapes keep case only by convention and fold
``JXDY`` onto ``jxdy``. Every name decodes to exactly one identifier and every identifier to exactly
one name: padding, non-zero trailing bits, invalid UTF-8, a suffix the grammar refuses, wrong
chunking or a wrong count are refused (``InvalidIdentifier``), never read leniently.

Names are at most 255 octets (63 per label): with a 15-octet zone and a three-segment prefix,
about 140 bytes of UTF-8 suffix fit; a longer identifier gets an ``InvalidIdentifier`` naming
the limit. Names below the zone that are not identifiers are **empty non-terminals** when they
are ancestors an identifier name can have: a prefix alone (``8.118.88``), a marker
(``_1.8.118.88``) or a marker with the last suffix labels of a multi-label suffix; any other
name cannot exist.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

import dns.name

from .._errors import InvalidIdentifier
from .._grammar import Handle, Prefix

__all__ = [
    "MAX_SUFFIX_LABELS",
    "Ancestor",
    "Apex",
    "Identifier",
    "Place",
    "handle_from_name",
    "handle_to_name",
    "place_of",
    "place_of_labels",
]

LABEL_CHARS = 63
MAX_SUFFIX_LABELS = 4  # 4 * 64 octets already exceed a name's 255 with any zone
_MARKER = re.compile(rb"_([1-9])")
_BASE32HEX = re.compile(rb"[0-9a-v]+")
_SEGMENT = re.compile(rb"[0-9a-z_-]{1,32}")
# Lengths of a base32 text (mod 8) that end on a whole byte; 1, 3 and 6 never do.
_WHOLE = {0, 2, 4, 5, 7}


def handle_to_name(handle: Handle, zone: dns.name.Name) -> dns.name.Name:
    """The owner name of ``handle`` under ``zone``; ``InvalidIdentifier`` when none fits."""
    labels = _relative_labels(handle)
    try:
        return dns.name.Name([*labels, *zone.labels])
    except dns.name.NameTooLong:
        raise _too_long(handle, zone) from None


def _relative_labels(handle: Handle) -> list[bytes]:
    """The labels of ``handle``'s name above the zone, leftmost first, lower case."""
    for segment in handle.prefix.segments:
        if _MARKER.fullmatch(segment.encode()):
            raise InvalidIdentifier(
                f"prefix segment {segment!r} has the form of the DNS marker label '_<k>'; "
                f"{handle} has no DNS name"
            )
    text = base64.b32hexencode(handle.suffix.encode()).decode().rstrip("=").lower()
    chunks = [text[i : i + LABEL_CHARS] for i in range(0, len(text), LABEL_CHARS)]
    return [
        *(chunk.encode() for chunk in chunks),
        f"_{len(chunks)}".encode(),
        *(segment.lower().encode() for segment in reversed(handle.prefix.segments)),
    ]


def _too_long(handle: Handle, zone: dns.name.Name) -> InvalidIdentifier:
    return InvalidIdentifier(
        f"handle {handle} is too long for a DNS name under {zone.to_text()}: "
        f"names are at most 255 octets and its suffix takes "
        f"{len(base64.b32hexencode(handle.suffix.encode()).rstrip(b'='))} characters of base32hex"
    )


@dataclass(frozen=True, slots=True)
class Apex:
    """The zone's apex (SOA, NS)."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """The owner name of one identifier."""

    handle: Handle


@dataclass(frozen=True, slots=True)
class Ancestor:
    """An empty non-terminal: a name that exists only as an ancestor of identifier names."""

    prefix: Prefix


Place = Apex | Identifier | Ancestor | None


def place_of(name: dns.name.Name, zone: dns.name.Name) -> Place:
    """What ``name`` (in ``zone``) names; ``None`` when no identifier name can be at or below it.

    Raises ``ValueError`` when ``name`` is not in ``zone`` (the caller refuses it).
    """
    if not name.is_subdomain(zone):
        raise ValueError(f"{name} is not in {zone}")
    return place_of_labels(
        [label.lower() for label in name.labels[: len(name.labels) - len(zone.labels)]]
    )


def place_of_labels(labels: list[bytes]) -> Place:
    """``place_of`` for a name given as its lower-cased labels above the zone, leftmost first."""
    if not labels:
        return Apex()
    marker = next((i for i, label in enumerate(labels) if label.startswith(b"_")), None)
    if marker is None or not _MARKER.fullmatch(labels[marker]):
        # Only prefix labels (or a label that is neither a segment nor a marker).
        prefix = _prefix(labels) if marker is None else None
        return None if prefix is None else Ancestor(prefix)
    prefix = _prefix(labels[marker + 1 :])
    if prefix is None:
        return None
    count = int(labels[marker][1:])
    chunks = labels[:marker]
    if len(chunks) > count or not all(_BASE32HEX.fullmatch(chunk) for chunk in chunks):
        return None
    if len(chunks) < count:
        # The marker with the last few suffix labels: full labels but for the very last.
        full = chunks[:-1] if chunks else []
        if all(len(chunk) == LABEL_CHARS for chunk in full):
            return Ancestor(prefix)
        return None
    try:
        return Identifier(_decode(labels, marker, prefix, lambda: "the name"))
    except InvalidIdentifier:
        return None


def handle_from_name(name: dns.name.Name | str, zone: dns.name.Name | str) -> Handle:
    """The identifier whose owner name is ``name``; ``InvalidIdentifier`` naming why not."""
    if isinstance(zone, str):
        zone = dns.name.from_text(zone)
    if isinstance(name, str):
        try:
            name = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            raise InvalidIdentifier(f"{name!r} is not a DNS name: {exc}") from None
    if not name.is_subdomain(zone):
        raise InvalidIdentifier(f"{name.to_text()} is not in the zone {zone.to_text()}")
    labels = [label.lower() for label in name.labels[: len(name.labels) - len(zone.labels)]]
    marker = next((i for i, label in enumerate(labels) if _MARKER.fullmatch(label)), None)
    if marker is None:
        raise InvalidIdentifier(f"{name.to_text()} has no marker label '_<k>': not an identifier")
    prefix = _prefix(labels[marker + 1 :])
    if prefix is None:
        raise InvalidIdentifier(
            f"{name.to_text()}: the labels between the marker and the zone are not a prefix"
        )
    count = int(labels[marker][1:])
    if count != marker:
        raise InvalidIdentifier(
            f"{name.to_text()}: the marker announces {count} suffix label(s), the name has {marker}"
        )
    return _decode(labels, marker, prefix, name.to_text)


def _prefix(labels: list[bytes]) -> Prefix | None:
    if not labels or not all(_SEGMENT.fullmatch(label) for label in labels):
        return None
    if any(_MARKER.fullmatch(label) for label in labels):
        return None
    return Prefix.parse(".".join(label.decode() for label in reversed(labels)))


def _decode(
    labels: list[bytes], marker: int, prefix: Prefix, describe: Callable[[], str]
) -> Handle:
    chunks = labels[:marker]
    if not all(_BASE32HEX.fullmatch(chunk) for chunk in chunks):
        raise InvalidIdentifier(f"{describe()}: suffix labels must be base32hex (0-9, a-v)")
    if any(len(chunk) != LABEL_CHARS for chunk in chunks[:-1]):
        raise InvalidIdentifier(
            f"{describe()}: every suffix label but the last must be 63 characters"
        )
    text = b"".join(chunks)
    if len(text) % 8 not in _WHOLE:
        raise InvalidIdentifier(f"{describe()}: the suffix labels are not a whole number of bytes")
    padded = text.upper() + b"=" * (-len(text) % 8)
    try:
        raw = base64.b32hexdecode(padded)
        suffix = raw.decode()
    except (binascii.Error, ValueError):
        raise InvalidIdentifier(
            f"{describe()}: the suffix is not base32hex of UTF-8 text"
        ) from None
    try:
        handle = Handle.parse(f"{prefix}/{suffix}")
    except InvalidIdentifier as exc:
        raise InvalidIdentifier(f"{describe()}: {exc.message}") from None
    # Non-zero trailing bits, or a suffix the grammar normalises: not this handle's one name.
    if _relative_labels(handle) != labels:
        raise InvalidIdentifier(f"{describe()} is not the canonical name of {handle}")
    return handle
