"""A benchmark phase past its bound fails by name and shows what it was waiting for."""

from __future__ import annotations

import asyncio

import pytest

from loadtests import PhaseTimeout, within


async def test_a_phase_within_its_bound_gives_its_result() -> None:
    async def phase() -> int:
        await asyncio.sleep(0.01)
        return 7

    assert await within(5, "quick phase", phase()) == 7


async def test_a_phase_that_fails_raises_its_own_error() -> None:
    async def phase() -> None:
        raise ValueError("bad figures")

    with pytest.raises(ValueError, match="bad figures"):
        await within(5, "failing phase", phase())


async def test_a_stuck_phase_is_named_shown_and_cancelled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    never = asyncio.get_running_loop().create_future()
    cancelled = asyncio.Event()

    async def waiting_for_an_answer() -> None:
        try:
            await never
        finally:
            cancelled.set()

    with pytest.raises(PhaseTimeout, match=r"resolver uniform did not finish within 0\.2 s"):
        await within(0.2, "resolver uniform", waiting_for_an_answer())
    assert cancelled.is_set()
    err = capsys.readouterr().err
    # The stack was taken while the phase still waited, before it was cancelled.
    assert "resolver uniform: stuck" in err
    assert "in waiting_for_an_answer" in err
    assert "await never" in err


async def test_a_phase_whose_cleanup_hangs_is_left_behind(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from loadtests import _bounded

    monkeypatch.setattr(_bounded, "_BLOCKED_GRACE", 0.2)

    async def closing_for_ever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.shield(asyncio.sleep(3600))

    with pytest.raises(PhaseTimeout, match="closing did not finish"):
        await asyncio.wait_for(within(0.1, "closing", closing_for_ever()), 5)
