"""Key spaces: seeded names, cold order visits each key once, Zipf favours low ranks."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from loadtests import ColdOrder, ZipfKeys, seeded_suffix


def test_seeded_suffixes_are_fixed_width_and_ordered() -> None:
    assert seeded_suffix(0) == "LT000000000"
    assert seeded_suffix(42) == "LT000000042"


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1024])
def test_cold_order_visits_every_key_once_per_round(n: int) -> None:
    order = ColdOrder(n, seed=3)
    assert sorted(order.at(i) for i in range(n)) == list(range(n))
    assert [order.at(i) for i in range(n)] == [order.at(n + i) for i in range(n)]


def test_zipf_draws_stay_in_range_and_favour_the_first_ranks() -> None:
    keys = ZipfKeys(1000, 1.0, random.Random(1))
    counts = Counter(keys.draw() for _ in range(20_000))
    assert min(counts) >= 0 and max(counts) < 1000
    assert counts[0] > counts[9] > counts[500]


def test_an_empty_key_space_is_refused() -> None:
    with pytest.raises(ValueError):
        ZipfKeys(0)
    with pytest.raises(ValueError):
        ColdOrder(0)
