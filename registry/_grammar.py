"""Identifier grammar: prefixes and handles as immutable, validated values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ._errors import InvalidIdentifier

__all__ = ["MAX_HANDLE_LENGTH", "Handle", "Prefix"]

MAX_HANDLE_LENGTH = 255
MAX_SEGMENT_LENGTH = 32
_SEGMENT = re.compile(r"[0-9A-Za-z_-]{1,32}")
# C0 controls, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
        if len(text) > MAX_HANDLE_LENGTH:
            raise InvalidIdentifier(
                f"handle is {len(text)} characters long; at most {MAX_HANDLE_LENGTH} are allowed"
            )
        prefix_text, slash, suffix = text.partition("/")
        if not slash:
            raise InvalidIdentifier(f"handle {text!r} has no '/' between prefix and suffix")
        if not prefix_text:
            raise InvalidIdentifier(f"handle {text!r} has an empty prefix")
        prefix = Prefix.parse(prefix_text)
        cls.check_suffix(suffix)
        return cls(prefix, suffix)

    @classmethod
    def from_url(cls, text: str) -> Handle:
        """Parse a handle still percent-encoded, as it appears in a URL; decodes exactly once."""
        return cls.parse(unquote(text, errors="strict"))

    @staticmethod
    def check_suffix(suffix: str) -> None:
        """Raise ``InvalidIdentifier`` unless ``suffix`` is a valid suffix."""
        if not suffix:
            raise InvalidIdentifier("handle suffix is empty")
        control = _CONTROL.search(suffix)
        if control:
            raise InvalidIdentifier(
                f"handle suffix contains the control character U+{ord(control.group()):04X}"
            )

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"


_PREFIXES: dict[str, Prefix] = {}
