"""``python -m loadtests seed`` loads identifiers through SNMS batchCreate; a re-run is safe."""

from __future__ import annotations

import argparse
import subprocess
import sys

import httpx

from loadtests import bulk_create, client_for, credential_for

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


async def test_bodies_built_before_the_clock_create_the_same_identifiers(
    node_server: ThreadedServer,
) -> None:
    async with client_for(node_server.url, timeout=60) as client:
        account = argparse.Namespace(
            admin_token=ADMIN_TOKEN, username=None, password=None, prefix=None
        )
        credential = await credential_for(client, account)
        options = {"count": 1500, "start": 0, "batch_size": 400, "clients": 3}
        built = await bulk_create(client, credential, prebuilt=True, **options)
        again = await bulk_create(client, credential, **options)
    assert (built.created, built.existed, dict(built.failed)) == (1500, 0, {})
    # The same identifiers: every one of them is already there for the second run.
    assert (again.created, again.existed) == (0, 1500)
