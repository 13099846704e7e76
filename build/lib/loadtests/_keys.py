"""Which identifiers a load test touches: names shared by seeding, the driver and Locust.

Pure functions over ``random.Random`` (no I/O), so every tool agrees on the key space: the
identifiers ``seed --count N`` creates are the ones ``run --keyspace N`` resolves.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random

__all__ = ["ColdOrder", "ZipfKeys", "missing_suffix", "new_suffix", "seeded_suffix"]


def seeded_suffix(i: int) -> str:
    """The suffix of the i-th seeded identifier (``LT000000042``)."""
    return f"LT{i:09d}"


def new_suffix(run_id: str, i: int) -> str:
    """A suffix nobody has registered yet: unique per run and request."""
    return f"LTN-{run_id}-{i}"


def missing_suffix(run_id: str, i: int) -> str:
    """A suffix that is never registered (for the not-found scenario)."""
    return f"LTX-{run_id}-{i}"


class ZipfKeys:
    """Key ranks 0…n-1 drawn with probability ∝ 1/(rank+1)^s: a few hot items, a long tail."""

    def __init__(self, n: int, s: float = 1.0, rng: random.Random | None = None) -> None:
        if n < 1:
            raise ValueError("the key space must hold at least one key")
        self.rng = rng or random.Random(7)
        self.cumulative = list(itertools.accumulate(1.0 / math.pow(k, s) for k in range(1, n + 1)))

    def draw(self) -> int:
        """One key index."""
        point = self.rng.random() * self.cumulative[-1]
        return min(bisect.bisect_left(self.cumulative, point), len(self.cumulative) - 1)


class ColdOrder:
    """Visits every key of 0…n-1 once, in a scattered order, before repeating any."""

    def __init__(self, n: int, seed: int = 7) -> None:
        if n < 1:
            raise ValueError("the key space must hold at least one key")
        self.n = n
        rng = random.Random(seed)
        stride = rng.randrange(1, n) if n > 2 else 1
        while math.gcd(stride, n) != 1:
            stride += 1
        self.stride = stride
        self.offset = rng.randrange(n)

    def at(self, i: int) -> int:
        """The key visited at step i."""
        return (self.offset + i * self.stride) % self.n
