"""Pending challenges: single use, expiring, bounded in count and in bytes."""

from __future__ import annotations

from dataclasses import dataclass

from node.native.challenges import Challenges


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class _Message:
    signed: bytes


@dataclass
class _Request:
    """What the store reads of a request: its message as received."""

    message: _Message


def _request(size: int = 100) -> _Request:
    return _Request(_Message(bytes(size)))


def test_a_challenge_is_taken_once() -> None:
    challenges = Challenges(clock=Clock())
    request = _request()
    session = challenges.issue(request, b"n" * 16, b"d" * 32)  # type: ignore[arg-type]
    assert session != 0
    pending = challenges.take(session)
    assert pending is not None and pending.request is request and pending.nonce == b"n" * 16
    assert challenges.take(session) is None
    assert challenges.take(session + 1) is None
    assert challenges.bytes == 0


def test_an_old_challenge_has_expired() -> None:
    clock = Clock()
    challenges = Challenges(ttl=20.0, clock=clock)
    session = challenges.issue(_request(), b"n", b"d")  # type: ignore[arg-type]
    clock.now += 20.5
    assert challenges.take(session) is None
    # Issuing drops the expired ones: a flood of unanswered challenges does not pile up.
    challenges.issue(_request(), b"n", b"d")  # type: ignore[arg-type]
    clock.now += 21
    kept = challenges.issue(_request(), b"n", b"d")  # type: ignore[arg-type]
    assert len(challenges) == 1 and challenges.take(kept) is not None


def test_the_store_is_bounded_in_count_dropping_the_oldest() -> None:
    challenges = Challenges(limit=100, clock=Clock())
    sessions = [challenges.issue(_request(), b"n", b"d") for _ in range(250)]  # type: ignore[arg-type]
    assert len(challenges) == 100
    assert challenges.take(sessions[0]) is None
    assert challenges.take(sessions[-1]) is not None
    assert len(set(sessions)) == 250


def test_the_store_is_bounded_in_bytes() -> None:
    challenges = Challenges(max_bytes=10_000, clock=Clock())
    sessions = [
        challenges.issue(_request(1000), b"n" * 16, b"d" * 32)  # type: ignore[arg-type]
        for _ in range(50)
    ]
    assert challenges.bytes <= 10_000
    assert len(challenges) == 10_000 // 1048
    assert challenges.take(sessions[0]) is None
    assert challenges.take(sessions[-1]) is not None
