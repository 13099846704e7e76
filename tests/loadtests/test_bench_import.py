"""The import benchmark runs end to end in quick mode (it asserts no timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.bench_import import main


@pytest.mark.slow
async def test_bench_import_reports_both_sizes_and_their_ratios(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "figures.json"
    assert await main(["--quick", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2000 rows / 200 rows: peak RSS x" in text
    figures = json.loads(out.read_text())
    assert [leg["rows"] for leg in figures["legs"]] == [200, 2000]
    # Every row of the generated files is valid and registered.
    assert all(leg["valid"] == leg["rows"] == leg["registered"] for leg in figures["legs"])
    assert set(figures["ratios"]) == {"peak_rss", "dry_run_rows_per_s", "import_rows_per_s"}
    assert all(value > 0 for value in figures["ratios"].values())
