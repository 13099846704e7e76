"""Rules for free text the node stores: names of enterprises and of template items."""

from __future__ import annotations

import re

__all__ = ["control_character"]

# C0 controls, DEL and C1 controls (as in handle suffixes).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` as ``U+XXXX``, or None when there is none."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"
