"""A throwaway PostgreSQL cluster in a temporary directory, for tests that stop the database.

Started with ``initdb`` and ``pg_ctl`` from the local PostgreSQL installation on a free loopback
port; ``stop()`` shuts it down immediately (as a crash or an outage would), ``start()`` brings it
back with the same data. Runs the server as ``postgres`` when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .servers import free_port

__all__ = ["PostgresCluster"]


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed; these tests need a local PostgreSQL installation")
    return found


class PostgresCluster:
    """``with PostgresCluster() as pg: pg.url`` … ``pg.stop()`` … ``pg.start()``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="idnode-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root.
            shutil.chown(self.root, "postgres", "postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as_postgres, *args], check=True, capture_output=True, timeout=60, cwd=self.root
        )

    def start(self) -> PostgresCluster:
        if not self.data.exists():
            self._run(
                _binary("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            _binary("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop at once: connections drop, new ones are refused."""
        if (self.data / "postmaster.pid").exists():
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
