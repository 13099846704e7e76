"""Ready DNS answers as bytes, keyed by the screened question, forgotten by owner name.

A hit costs two dictionary reads; the caller patches in the query's id and question bytes
(``registry.codec.answer_from_cache``). Entries are grouped by owner name so that a write to
an identifier drops every variant cached for its name (UDP/TCP, sizes, RD/CD, EDNS). Bounded:
past ``max_entries`` the oldest entries go first.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AnswerCache"]


class AnswerCache:
    """``udp[key]`` / ``tcp[key]`` → (header, tail, expiry, question end); ``put``, ``forget``.

    An answer is kept as its bytes 2-12 and what follows the question, so a hit only has to
    put the query's id and question between them.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self.udp: dict[bytes, tuple[bytes, bytes, float, int]] = {}
        self.tcp: dict[bytes, tuple[bytes, bytes, float, int]] = {}
        self._by_owner: dict[bytes, set[tuple[bool, bytes]]] = {}
        self._order: dict[tuple[bool, bytes], bytes] = {}  # insertion order → owner
        # Bumped by every invalidation: an answer computed across one is not stored.
        self.generation = 0

    def __len__(self) -> int:
        return len(self._order)

    def put(
        self,
        tcp: bool,
        key: bytes,
        owner: bytes,
        answer: bytes,
        expires: float,
        question_end: int,
        generation: int,
    ) -> None:
        if generation != self.generation:
            return
        while len(self._order) >= self.max_entries:
            self._drop(next(iter(self._order)))
        entries = self.tcp if tcp else self.udp
        entries[key] = (answer[2:12], answer[question_end:], expires, question_end)
        self._order[(tcp, key)] = owner
        self._by_owner.setdefault(owner, set()).add((tcp, key))

    def forget(self, owners: Iterable[bytes]) -> None:
        """Drop every answer cached for these owner names (lower-cased wire form)."""
        self.generation += 1
        for owner in owners:
            for slot in self._by_owner.pop(owner, ()):
                self._order.pop(slot, None)
                (self.tcp if slot[0] else self.udp).pop(slot[1], None)

    def clear(self) -> None:
        self.generation += 1
        self.udp.clear()
        self.tcp.clear()
        self._order.clear()
        self._by_owner.clear()

    def _drop(self, slot: tuple[bool, bytes]) -> None:
        owner = self._order.pop(slot)
        (self.tcp if slot[0] else self.udp).pop(slot[1], None)
        slots = self._by_owner.get(owner)
        if slots is not None:
            slots.discard(slot)
            if not slots:
                del self._by_owner[owner]
