"""What a fresh interpreter loads: for tests that a process imports only what it uses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable

# The database layer, migrations, the web stack, the HTTP client, the resolver, the simulator.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "asyncpg",
    "aiosqlite",
    "migrations",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "resolver",
    "toplevel",
)


def loaded_by(statement: str, packages: Iterable[str] = HEAVY) -> set[str]:
    """Which of ``packages`` a fresh interpreter has loaded after running ``statement``."""
    probe = (
        f"import sys; {statement}; "
        f"print(' '.join({{m.split('.')[0] for m in sys.modules}} & {set(packages)!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())
