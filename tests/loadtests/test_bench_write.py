"""The single-write benchmark runs end to end on both backends (``--quick``; no timings asserted)."""

from __future__ import annotations

import orjson
import pytest

from loadtests.bench_write import main

from ..databases import postgres_url


@pytest.mark.slow
def test_bench_write_quick_reports_every_api_and_concurrency_beside_the_floor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--quick", "--clients", "1,4", "--postgres", postgres_url(), "--json", "--retried"])
    results = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [result["backend"] for result in results] == ["sqlite", "postgresql"]
    for result in results:
        assert result["signed"] is True
        legs = {(row["api"], row["clients"]): row for row in result["rows"]}
        # ``retry``: each SNMS registration sent again, answered "already exists" (else failed).
        apis = ("floor", "rest", "snms", "retry")
        assert set(legs) == {(api, c) for api in apis for c in (1, 4)}
        for (api, _), row in legs.items():
            assert row["ids"] > 0
            assert row["failed"] == 0
            assert row["p50"] <= row["p99"]
            if api != "floor":
                assert row["p50_over_floor"] is not None
                assert row["items_per_s_over_floor"] is not None
                assert row["cpu_ms"] > 0
                assert row["client_cpu_ms"] > 0
