"""Resolutions counted per China day and per identifier, bounded."""

from __future__ import annotations

from resolver import ResolutionTally

# 2026-12-04 15:59:59 UTC is 23:59:59 in China; a second later is the 5th there.
EVENING = 1_796_399_999.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_days_are_china_days() -> None:
    clock = Clock(EVENING)
    tally = ResolutionTally(clock=clock)
    tally.count("88.118.8/A")
    clock.now += 1
    tally.count("88.118.8/A")
    tally.count("88.118.8/B")
    assert tally.per_day(["2026-12-04", "2026-12-05", "2026-12-06"]) == [
        ("2026-12-04", 1),
        ("2026-12-05", 2),
        ("2026-12-06", 0),
    ]


def test_old_days_are_forgotten() -> None:
    clock = Clock(EVENING)
    tally = ResolutionTally(keep_days=2, clock=clock)
    tally.count("x/1")
    clock.now += 3 * 86_400
    tally.count("x/1")
    assert tally.total() == 1


def test_top_identifiers_by_prefix_and_bounded() -> None:
    tally = ResolutionTally(max_keys=3, clock=Clock(EVENING))
    for key, times in (("88.118.8/A", 3), ("88.118.9/B", 5), ("88.118.8/C", 1)):
        for _ in range(times):
            tally.count(key)
    tally.count("88.118.8/D")  # over max_keys: not counted per identifier
    assert tally.top(2) == [("88.118.9/B", 5), ("88.118.8/A", 3)]
    assert tally.top(5, frozenset({"88.118.8"})) == [("88.118.8/A", 3), ("88.118.8/C", 1)]
    assert tally.total() == 10  # but counted in its day
