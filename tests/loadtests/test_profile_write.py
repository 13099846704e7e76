"""The single-write profiler runs end to end: CPU per write, and round trips on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from loadtests.profile_write import main

from ..databases import postgres_url


@pytest.mark.slow
def test_profile_write_counts_round_trips_of_each_api_on_postgresql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--backend", "postgresql", "--postgres", postgres_url(), "--count", "5"])
    out = capsys.readouterr().out
    for api in ("rest", "snms"):
        found = re.search(rf"^{api}: 5 writes, .* ([0-9.]+) round trips/write$", out, re.M)
        assert found is not None, out
        # A new record is one statement (its own transaction), then the NOTIFY that tells the
        # other processes: not BEGIN, statements and COMMIT, as a transaction would be.
        assert float(found.group(1)) == 2


@pytest.mark.slow
def test_profile_write_profiles_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--backend", "sqlite", "--count", "3", "--apis", "rest", "--profile", "cprofile"])
    out = capsys.readouterr().out
    assert re.search(r"^rest: 3 writes, [0-9.]+ ms CPU/write", out, re.M), out
    assert "top 30 by tottime" in out and "top 30 by cumulative" in out
