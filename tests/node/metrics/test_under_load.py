"""The README's "see metrics move while `loadtests` runs": the driver's traffic shows up in a scrape."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ...conftest import ADMIN_TOKEN
from ...servers import ThreadedServer
from .scraping import requests_count, resolutions, scrape

pytestmark = pytest.mark.slow  # a driver process for seconds: started first


def test_metrics_move_while_the_load_driver_runs(
    node_server: ThreadedServer, tmp_path: Path
) -> None:
    before = scrape(node_server.url)
    driver = subprocess.Popen(
        [
            sys.executable, "-m", "loadtests", "run", "--no-progress",
            "--scenario", "resolve-zipf", "--rate", "40", "--duration", "4", "--keys", "20",
            "--target", node_server.url, "--admin-token", ADMIN_TOKEN, "--out", str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # While it runs: a scrape between two others shows more resolutions each time.
        seen = [resolutions(before, "hit") + resolutions(before, "miss")]
        deadline = time.monotonic() + 60
        while driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            now = scrape(node_server.url)
            seen.append(resolutions(now, "hit") + resolutions(now, "miss"))
        _, stderr = driver.communicate(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == 0, stderr
    assert len({n for n in seen if n > seen[0]}) >= 2, seen  # it moved at least twice mid-run

    after = scrape(node_server.url)
    report = json.loads((tmp_path / "resolve-zipf.json").read_text())
    served = resolutions(after, "hit") + resolutions(after, "miss")
    assert served - seen[0] == report["succeeded"] == 160
    # The driver's seeding (20 registrations) and its resolutions, all counted as handle requests.
    moved = requests_count(after, "handle", "2xx") - requests_count(before, "handle", "2xx")
    assert moved >= report["succeeded"] + 20
