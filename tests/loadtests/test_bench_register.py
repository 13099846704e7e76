"""The registration benchmark runs end to end on both backends (tiny sizes; no timings asserted)."""

from __future__ import annotations

import orjson
import pytest

from loadtests.bench_register import main


@pytest.mark.slow
def test_bench_register_reports_batch_baseline_ratio_and_memory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = "--backend both --count 300 --batch 100 --clients 2 --baseline-count 6 --json"
    main(args.split())
    lines = capsys.readouterr().out.splitlines()
    results = [orjson.loads(line) for line in lines]
    assert [result["backend"] for result in results] == ["sqlite", "postgresql"]
    for result in results:
        assert result["batch"]["ids"] == 300
        assert result["batch"]["failed"] == 0
        assert result["baseline_single"]["ids"] == 6
        assert result["baseline_single"]["failed"] == 0
        assert result["ratio"] is not None
        assert result["rss_peak_mib"] > 0
