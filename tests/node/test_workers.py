"""Several uvicorn workers on one PostgreSQL stay coherent through LISTEN/NOTIFY."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from ..conftest import ADMIN_TOKEN
from ..databases import fresh_database, migrate
from ..servers import NodeProcess
from .helpers import basic_auth, create_enterprise

PATH = "/api/handles/88.118.8/LINE-7"


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated PostgreSQL database (LISTEN/NOTIFY is what this test is about)."""
    async with fresh_database("postgresql", tmp_path) as url:
        yield await migrate(url)


def values(text: str) -> dict:
    return {"values": [{"index": 1, "type": "URL", "data": text}]}


def seen(url: str) -> str:
    # A new connection each time, so the kernel spreads requests over both workers.
    return httpx.get(url + PATH, timeout=10).json()["values"][0]["data"]["value"]


@pytest.mark.slow
def test_a_write_through_one_worker_is_seen_through_the_other(postgres_url: str) -> None:
    env = {"IDNODE_DATABASE_URL": postgres_url, "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN}
    node = NodeProcess(env)
    node.args += ["--workers", "2"]
    with node:
        auth = basic_auth(create_enterprise(node.url, "Acme", "88.118.8"))
        assert httpx.put(node.url + PATH, json=values("v1"), auth=auth).status_code == 201
        # Warm both workers' caches with v1 (their TTL is a day: only an invalidation helps).
        assert {seen(node.url) for _ in range(40)} == {"v1"}
        for version in ("v2", "v3"):
            written = time.monotonic()
            assert httpx.put(node.url + PATH, json=values(version), auth=auth).status_code == 200
            shows = functools.partial(_shows, node.url, version)
            assert _shown_everywhere_after(shows, written) <= 1.0


def _shows(url: str, version: str) -> bool:
    return seen(url) == version


def _shown_everywhere_after(shows: Callable[[], bool], written: float) -> float:
    """Seconds from ``written`` until the first of 40 reads in a row that ``shows`` the write."""
    streak, streak_start = 0, written
    while streak < 40:
        now = time.monotonic()
        assert now - written < 10, "the write never reached every worker"
        if shows():
            streak_start = now if streak == 0 else streak_start
            streak += 1
        else:
            streak = 0
    return streak_start - written


@pytest.mark.slow
def test_a_new_record_through_one_worker_replaces_the_others_not_found(postgres_url: str) -> None:
    """A single new record commits as one statement of its own and is announced after it
    (``RecordWriter.insert_alone``): a worker that remembered it did not exist forgets that."""
    env = {
        "IDNODE_DATABASE_URL": postgres_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        # Not-found answers remembered for a minute: only the announcement shows it sooner.
        "IDNODE_CACHE_NEGATIVE_TTL": "60",
    }
    node = NodeProcess(env)
    node.args += ["--workers", "2"]
    new = "/api/handles/88.118.8/LINE-8"
    with node:
        auth = basic_auth(create_enterprise(node.url, "Acme", "88.118.8"))
        # Both workers (a new connection each time) remember that it does not exist.
        assert {httpx.get(node.url + new, timeout=10).status_code for _ in range(40)} == {404}
        written = time.monotonic()
        assert httpx.put(node.url + new, json=values("v1"), auth=auth).status_code == 201
        shows = functools.partial(_found, node.url + new)
        assert _shown_everywhere_after(shows, written) <= 1.0


def _found(url: str) -> bool:
    return httpx.get(url, timeout=10).status_code == 200
