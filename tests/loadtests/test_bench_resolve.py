"""bench_resolve's pieces on real servers: kit seeding on PostgreSQL, the baseline, the wrk paths."""

from __future__ import annotations

import asyncio
import functools
import secrets
from pathlib import Path

import httpx
import pytest

from loadtests import bench_resolve, seeded_suffix, started_node

from ..databases import fresh_database


def test_wrk_scripts_ask_for_the_kits_seeded_names():
    assert seeded_suffix(42) == bench_resolve._SUFFIX_FORMAT % 42
    for kind in ("hot", "zipf", "uniform", "notfound", "fill", "hothtml", "hotquery", "hottype"):
        script = bench_resolve._lua(kind, 50)
        assert f'local kind = "{kind}"' in script
        assert '"/api/handles/88.118.8/"' in script
        assert 'string.format("LT%09d", i) .. tail' in script
    # The record pages (never redirected) and the JSON through the endpoint (a query string).
    html = bench_resolve._lua("hothtml", 50)
    assert 'base = "/88.118.8/"' in html and 'tail = "?noredirect"' in html
    # A filtered resolution, of a type every seeded record has.
    assert 'tail = "?type=URL"' in bench_resolve._lua("hottype", 50)


async def test_seeding_goes_through_batchcreate_and_a_second_run_reuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    token = secrets.token_urlsafe(8)
    monkeypatch.setattr(bench_resolve, "ADMIN_TOKEN", token)
    # PostgreSQL only: the benchmark runs on PostgreSQL, as issue 4 asks.
    async with fresh_database("postgresql", tmp_path) as url:
        with started_node(tmp_path, token, database_url=url) as node:
            await bench_resolve._seed(node.url, url, 30, progress=False)
            assert "seeded 30 identifiers through batchCreate" in capsys.readouterr().out
            await bench_resolve._seed(node.url, url, 30, progress=False)
            assert "reusing" in capsys.readouterr().out
            async with httpx.AsyncClient(base_url=node.url) as client:
                for i in (0, 29):
                    answer = await client.get(f"/api/handles/88.118.8/{seeded_suffix(i)}")
                    assert answer.status_code == 200, answer.text
                missing = await client.get("/api/handles/88.118.8/LTX-wrk-1")
                assert missing.status_code == 404
        # The storage floors read the same names through asyncpg (pinned connections, and the
        # pool a lookup at a time), and the node's resolver through its read path: all found,
        # then none.
        legs = {
            "strict floor": bench_resolve._floor,
            "pool floor": functools.partial(bench_resolve._floor, pinned=False),
            "resolver": bench_resolve._resolver_leg,
        }
        for kind in ("uniform", "notfound"):
            for name, leg in legs.items():
                figures = await leg(url, kind, 30, 0.3)
                assert figures["requests"] > 0 and figures["rps"] > 0
                assert figures["non2xx"] == 0, (kind, name, figures)


async def test_baseline_serves_the_record_bytes_on_loopback(tmp_path: Path):
    process, url = await asyncio.to_thread(
        bench_resolve._start_baseline, tmp_path, b'{"responseCode":1}'
    )
    try:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as client:
            answer = await client.get("/api/handles/88.118.8/anything")
        assert answer.content == b'{"responseCode":1}'
        assert answer.headers["content-type"] == "application/json"
    finally:
        bench_resolve._stop(process)
