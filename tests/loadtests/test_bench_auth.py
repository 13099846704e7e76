"""bench_auth end to end, briefly: a real node, every leg answered, ratios to anonymous reported."""

from __future__ import annotations

import json

import pytest

from loadtests import bench_auth


def test_a_short_run_answers_every_leg_and_reports_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = bench_auth.main(
        ["--handles", "10", "--seconds", "0.5", "--rounds", "1", "--connections", "2", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("anonymous", "basic", "bearer"):
        leg = report["legs"][name]
        # Every request answered 200: the credentials were accepted on every one.
        assert leg["resolutions"] > 0 and leg["errors"] == 0, leg
        assert leg["p50"] > 0 and leg["node_cpu_us"] > 0
    for pair in ("basic/anonymous", "bearer/anonymous"):
        assert report["ratios"][pair]["p50"] > 0
