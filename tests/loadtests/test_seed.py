"""``python -m loadtests seed`` loads identifiers through SNMS batchCreate; a re-run is safe."""

from __future__ import annotations

import subprocess
import sys

import httpx

from ..conftest import ADMIN_TOKEN
from ..servers import ThreadedServer


def _seed(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests",
            "seed",
            "--no-progress",
            "--target",
            url,
            "--admin-token",
            ADMIN_TOKEN,
            "--prefix",
            "88.118.50",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_seed_loads_through_the_bulk_path_and_reruns_safely(node_server: ThreadedServer) -> None:
    first = _seed(node_server.url, "--count", "2500", "--batch-size", "1000", "--clients", "2")
    assert first.returncode == 0, first.stderr
    listing = httpx.get(
        f"{node_server.url}/api/handles",
        params={"prefix": "88.118.50", "pageSize": 5000},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=60,
    ).json()
    seeded = [h for h in listing["handles"] if h != "88.118.50/ADMIN"]
    assert len(seeded) == 2500
    record = httpx.get(f"{node_server.url}/api/handles/{seeded[0]}", timeout=30).json()
    assert record["responseCode"] == 1 and record["values"]

    again = _seed(node_server.url, "--count", "2500", "--batch-size", "1000")
    assert again.returncode == 0, again.stderr
    assert "2500 already there" in again.stdout + again.stderr
