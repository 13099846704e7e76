"""Identifier grammar: prefixes and handles as immutable, validated values."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ._errors import InvalidIdentifier

__all__ = ["MAX_HANDLE_LENGTH", "Handle", "Prefix"]

MAX_HANDLE_LENGTH = 255
MAX_SEGMENT_LENGTH = 32
# NFD is at most four times as long as NFC (UAX #15), so a handle within the limit once
# normalised is never refused for its length before it.
_MAX_UNNORMALISED_LENGTH = 4 * MAX_HANDLE_LENGTH
_SEGMENT = re.compile(r"[0-9A-Za-z_-]{1,32}")
# Bidi controls: embeddings and overrides, isolates, marks (all of category Cf).
_BIDI = frozenset(
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
)
# Why each refused Unicode category is refused; every other category is allowed.
_REFUSED = {
    "Cc": "control character",
    "Cf": "invisible format character",
    "Cs": "surrogate",
    "Cn": "unassigned code point",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}
_REPLACEMENT = "\ufffd"


_PREFIX_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Prefix:
    """A dot-separated prefix such as ``88.118.8``, stored upper-cased."""

    segments: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Prefix:
        """Parse and normalise a prefix, naming the rule it breaks if it is invalid."""
        # A batch names the same few prefixes thousands of times; only valid ones are kept.
        if cls is not Prefix:
            return cls._parse(text)
        known = _PREFIXES.get(text) if type(text) is str else None
        if known is not None:
            return known
        parsed = cls._parse(text)
        if len(_PREFIXES) >= _PREFIX_CACHE_SIZE:
            _PREFIXES.clear()
        _PREFIXES[text] = parsed
        return parsed

    @classmethod
    def _parse(cls, text: str) -> Prefix:
        if not isinstance(text, str) or not text:
            raise InvalidIdentifier("prefix is empty")
        if len(text) > MAX_HANDLE_LENGTH:
            raise InvalidIdentifier(f"prefix is longer than {MAX_HANDLE_LENGTH} characters")
        segments = text.split(".")
        for position, segment in enumerate(segments, start=1):
            if not segment:
                raise InvalidIdentifier(
                    f"prefix {text!r} has an empty segment at position {position}"
                )
            if len(segment) > MAX_SEGMENT_LENGTH:
                raise InvalidIdentifier(
                    f"prefix segment {segment!r} is longer than {MAX_SEGMENT_LENGTH} characters"
                )
            if not _SEGMENT.fullmatch(segment):
                raise InvalidIdentifier(
                    f"prefix segment {segment!r} may only contain 0-9, A-Z, a-z, '_' and '-'"
                )
        return cls(tuple(segment.upper() for segment in segments))

    def __str__(self) -> str:
        return ".".join(self.segments)

    def is_within(self, other: Prefix) -> bool:
        """True when this prefix equals ``other`` or is derived from it (``88.118.8`` in ``88.118``)."""
        return self.segments[: len(other.segments)] == other.segments

    def child(self, segment: str) -> Prefix:
        """The prefix derived from this one by one more segment."""
        return Prefix.parse(f"{self}.{segment}")


@dataclass(frozen=True, slots=True)
class Handle:
    """A handle ``prefix/suffix``: prefix case-insensitive, suffix case-preserving."""

    prefix: Prefix
    suffix: str

    @classmethod
    def parse(cls, text: str) -> Handle:
        """Parse and normalise a handle (already percent-decoded)."""
        if not isinstance(text, str) or not text:
            raise InvalidIdentifier("handle is empty")
        if len(text) > _MAX_UNNORMALISED_LENGTH:
            raise _too_long(len(text))
        prefix_text, slash, suffix = text.partition("/")
        if not slash:
            raise InvalidIdentifier(f"handle {text!r} has no '/' between prefix and suffix")
        if not prefix_text:
            raise InvalidIdentifier(f"handle {text!r} has an empty prefix")
        prefix = Prefix.parse(prefix_text)
        suffix = cls.check_suffix(suffix)
        length = len(prefix_text) + 1 + len(suffix)
        if length > MAX_HANDLE_LENGTH:
            raise _too_long(length)
        return cls(prefix, suffix)

    @classmethod
    def from_url(cls, text: str | bytes) -> Handle:
        """Parse a handle still percent-encoded, as it appears in a URL; decodes exactly once."""
        return cls.parse(cls.decode_url(text))

    @staticmethod
    def decode_url(text: str | bytes) -> str:
        """Percent-decode ``text`` once; the bytes must be UTF-8.

        An invalid sequence is refused, never replaced by U+FFFD (which would let two byte
        strings name one handle).
        """
        if isinstance(text, str):
            # Surrogates encoded as they stand, so decoding refuses them below.
            text = text.encode("utf-8", "surrogatepass")
        raw = unquote_to_bytes(text)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end].hex(" ").upper()
            raise InvalidIdentifier(
                f"handle is not valid UTF-8 once percent-decoded: byte {bad}"
                f" at position {exc.start} ({exc.reason})"
            ) from None

    @staticmethod
    def check_suffix(suffix: str) -> str:
        """The normal form (NFC) of ``suffix``; ``InvalidIdentifier`` naming the rule it breaks.

        Refused: control characters (C0, DEL, C1), invisible format characters (bidi
        controls, zero-width characters, BOM: category Cf), line and paragraph separators,
        surrogates, unassigned code points and noncharacters, and U+FFFD (the mark of
        undecodable bytes) — characters that make one identifier look like another.
        """
        if not suffix:
            raise InvalidIdentifier("handle suffix is empty")
        if not suffix.isascii():
            suffix = unicodedata.normalize("NFC", suffix)
        # The common case, ASCII without controls, in one scan.
        if suffix.isascii() and suffix.isprintable():
            return suffix
        for char in suffix:
            rule = _refusal(char)
            if rule is not None:
                raise InvalidIdentifier(f"handle suffix contains {_describe(char)} ({rule})")
        return suffix

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"


def _too_long(length: int) -> InvalidIdentifier:
    return InvalidIdentifier(
        f"handle is {length} characters long; at most {MAX_HANDLE_LENGTH} are allowed"
    )


def _refusal(char: str) -> str | None:
    """Why ``char`` may not appear in a suffix, or None when it may."""
    if char in _BIDI:
        return "bidi control"
    if char == _REPLACEMENT:
        return "replacement character: the name held bytes that are not UTF-8"
    category = unicodedata.category(char)
    if category == "Cn" and _is_noncharacter(char):
        return "noncharacter"
    return _REFUSED.get(category)


def _is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


_PREFIXES: dict[str, Prefix] = {}
