"""Ratios against a baseline, and the memory sampler benchmarks use for the node's RSS."""

from __future__ import annotations

import asyncio
import os

from loadtests import RssSampler, peak_rss_bytes, process_tree, ratio_table, ratios, rss_bytes


def test_ratios_divide_candidate_by_baseline() -> None:
    baseline = {"achieved_rate": 100.0, "p50": 2.0, "p99": 0, "max": 10.0}
    candidate = {"achieved_rate": 250.0, "p50": 1.0, "p99": 3.0}
    assert ratios(baseline, candidate) == {"achieved_rate": 2.5, "p50": 0.5, "p99": None}
    table = ratio_table(baseline, candidate)
    assert "2.500" in table and "0.500" in table


async def test_rss_sampler_reads_this_process() -> None:
    pid = os.getpid()
    assert (rss_bytes(pid) or 0) > 0
    assert (peak_rss_bytes(pid) or 0) >= (rss_bytes(pid) or 0)
    assert process_tree(pid)[0] == pid
    async with RssSampler(pid, interval=0.01) as sampler:
        while len(sampler.samples) < 3:
            await asyncio.sleep(0.01)
    assert sampler.peak > 0
    assert sampler.growth() > 0
