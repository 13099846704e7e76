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
    """``entries[key]`` → (answer, expiry, owner, question end); ``put``, ``forget(owners)``, ``clear``."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        # key → (answer, expiry, owner, where the question ends)
        self.entries: dict[bytes, tuple[bytes, float, bytes, int]] = {}
        self._by_owner: dict[bytes, set[bytes]] = {}
        # Bumped by every invalidation: an answer computed across one is not stored.
        self.generation = 0

    def __len__(self) -> int:
        return len(self.entries)

    def put(
        self,
        key: bytes,
        owner: bytes,
        answer: bytes,
        expires: float,
        question_end: int,
        generation: int,
    ) -> None:
        if generation != self.generation:
            return
        while len(self.entries) >= self.max_entries:
            self._drop(next(iter(self.entries)))
        self.entries[key] = (answer, expires, owner, question_end)
        self._by_owner.setdefault(owner, set()).add(key)

    def forget(self, owners: Iterable[bytes]) -> None:
        """Drop every answer cached for these owner names (lower-cased wire form)."""
        self.generation += 1
        for owner in owners:
            for key in self._by_owner.pop(owner, ()):
                self.entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self.entries.clear()
        self._by_owner.clear()

    def _drop(self, key: bytes) -> None:
        owner = self.entries.pop(key)[2]
        keys = self._by_owner.get(owner)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_owner[owner]
