"""``idnode serve --workers 2``: one scrape totals both workers' requests."""

from __future__ import annotations

import time

import httpx
import pytest

from ...conftest import ADMIN_TOKEN
from ...servers import NodeProcess
from .scraping import requests_count, resolutions, scrape

REQUESTS = 60


@pytest.mark.slow
def test_a_scrape_counts_every_workers_requests(migrated_url: str) -> None:
    env = {"IDNODE_DATABASE_URL": migrated_url, "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN}
    node = NodeProcess(env)
    node.args += ["--workers", "2"]
    with node:
        for _ in range(REQUESTS):
            # A new connection each time, so the kernel spreads requests over both workers.
            assert httpx.get(node.url + "/api/handles/88.118.8/NONE", timeout=10).status_code == 404
        deadline = time.monotonic() + 15
        while True:
            samples = scrape(node.url)
            workers = samples[("idnode_worker_processes", ())]
            counted = requests_count(samples, "handle", "4xx")
            if (workers, counted) == (2, REQUESTS) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert workers == 2
        assert counted == REQUESTS
        assert resolutions(samples, "hit") + resolutions(samples, "negative") == REQUESTS
