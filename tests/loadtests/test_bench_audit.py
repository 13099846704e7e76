"""The audit-log benchmark runs end to end on both backends (tiny sizes; no timings asserted)."""

from __future__ import annotations

import orjson
import pytest

from loadtests.bench_audit import main


def test_bench_audit_reports_both_legs_and_their_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--backend", "both", "--batch", "20", "--rounds", "2", "--json"])
    results = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [result["backend"] for result in results] == ["sqlite", "postgresql"]
    for result in results:
        assert result["batch"] == 20 and result["rounds"] == 2
        assert result["audited_ms"] > 0 and result["baseline_ms"] > 0
        assert result["ratio"] is not None
