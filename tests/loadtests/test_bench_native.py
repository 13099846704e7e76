"""bench_native end to end, briefly: a real node, all three legs answered, ratios reported."""

from __future__ import annotations

import json

import pytest

from loadtests import bench_native


def test_a_short_run_answers_every_leg_and_reports_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = bench_native.main(
        ["--handles", "20", "--seconds", "0.5", "--connections", "4", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("http", "tcp", "udp"):
        leg = report["legs"][name]
        assert leg["resolutions"] > 0 and leg["errors"] == 0, leg
        assert leg["p50"] > 0 and leg["node_cpu_us"] > 0
    for pair in ("udp/http", "tcp/http"):
        assert report["ratios"][pair]["achieved_rate"] > 0
