"""The signing benchmark runs end to end on real nodes (tiny sizes; it asserts no timings)."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest

from loadtests.bench_sign import main

from ..databases import BACKENDS, postgres_url


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_bench_sign_reports_every_algorithm_and_batch_registration_both_ways(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
):
    out = tmp_path / "figures.json"
    database = ["--postgres", postgres_url()] if backend == "postgresql" else []
    code = await main(
        # Batches of 20: large enough for the signing node's sealing process to start.
        ["--seconds", "0.02", "--records", "80", "--rounds", "2", "--batch-size", "20",
         "--clients", "1", "--json", str(out), *database]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    for expected in (
        "ES256", "Ed25519", "RS256", "batchCreate", "signing off", "signing on",
        "signing in-process", "CPU per identifier", "sealing process(es)", "SM2256",
        "gm profile", "SM2256 / ES256: signing",
    ):  # fmt: skip
        assert expected in text
    assert "goal of at most 25%" in text
    figures = json.loads(out.read_text())
    assert [row["alg"] for row in figures["algorithms"]] == ["ES256", "Ed25519", "RS256", "SM2256"]
    rows = {row["alg"]: row for row in figures["algorithms"]}
    assert figures["sm2_over_es256"]["sign"] == pytest.approx(
        rows["SM2256"]["sign_per_s"] / rows["ES256"]["sign_per_s"], rel=0.01
    )
    registration = figures["batch_registration"]
    assert registration["database"] == backend
    assert registration["identifiers_per_leg"] == 80
    for leg in ("off", "on", "in-process", "gm"):
        assert len(registration[leg]["rounds"]) == 2
        assert registration[leg]["items_per_s"] > 0
        cpu = registration[leg]["cpu_us_per_identifier"]
        assert cpu["cores"] == os.cpu_count()
        assert all(cpu[part] >= 0 for part in ("node", "sealing", "client"))
        assert cpu["machine_busy"] is not None and 0 <= cpu["machine_busy"] <= 1
    # Only the default signing node has sealing processes (the others sign nothing or in-process).
    assert registration["off"]["cpu_us_per_identifier"]["sealing"] == 0
    assert registration["in-process"]["cpu_us_per_identifier"]["sealing"] == 0
    for leg, key in (("on", "cost"), ("in-process", "cost_in_process")):
        pairs = zip(registration["off"]["rounds"], registration[leg]["rounds"], strict=True)
        expected = statistics.median(1 - signed / unsigned for unsigned, signed in pairs)
        assert registration[key] == pytest.approx(expected, abs=0.01)
    pairs = zip(registration["on"]["rounds"], registration["gm"]["rounds"], strict=True)
    expected = statistics.median(gm / on for on, gm in pairs)
    assert registration["ratio_gm_on"] == pytest.approx(expected, abs=0.01)
    assert registration["gm_goal"] == 0.10
    assert registration["goal"] == 0.25
    assert isinstance(registration["within_goal"], bool)
