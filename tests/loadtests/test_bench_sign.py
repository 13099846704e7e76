"""The signing benchmark runs end to end (tiny sizes; it asserts no timings)."""

from __future__ import annotations

import pytest

from loadtests.bench_sign import main


async def test_bench_sign_runs_and_reports_every_algorithm_and_both_legs(
    capsys: pytest.CaptureFixture[str],
):
    await main(["--seconds", "0.02", "--records", "4", "--rounds", "2"])
    out = capsys.readouterr().out
    for expected in (
        "ES256",
        "Ed25519",
        "RS256",
        "signing off",
        "signing on",
        "time in the sealer",
    ):
        assert expected in out
