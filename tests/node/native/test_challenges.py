"""Pending challenges: single use, expiring, bounded."""

from __future__ import annotations

from node.native.challenges import Challenges


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


REQUEST = object()  # what is kept is opaque to the store


def test_a_challenge_is_taken_once() -> None:
    challenges = Challenges(clock=Clock())
    session = challenges.issue(REQUEST, b"n" * 16, b"d" * 32)  # type: ignore[arg-type]
    assert session != 0
    pending = challenges.take(session)
    assert pending is not None and pending.request is REQUEST and pending.nonce == b"n" * 16
    assert challenges.take(session) is None
    assert challenges.take(session + 1) is None


def test_an_old_challenge_has_expired() -> None:
    clock = Clock()
    challenges = Challenges(ttl=20.0, clock=clock)
    session = challenges.issue(REQUEST, b"n", b"d")  # type: ignore[arg-type]
    clock.now += 20.5
    assert challenges.take(session) is None
    # Issuing drops the expired ones: a flood of unanswered challenges does not pile up.
    kept = challenges.issue(REQUEST, b"n", b"d")  # type: ignore[arg-type]
    assert len(challenges) == 1 and challenges.take(kept) is not None


def test_the_store_is_bounded_dropping_the_oldest() -> None:
    challenges = Challenges(limit=100, clock=Clock())
    sessions = [challenges.issue(REQUEST, b"n", b"d") for _ in range(250)]  # type: ignore[arg-type]
    assert len(challenges) == 100
    assert challenges.take(sessions[0]) is None
    assert challenges.take(sessions[-1]) is not None
    assert len(set(sessions)) == 250
