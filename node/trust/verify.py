"""``idnode verify``: fetch a record (over HTTP or from the local store) and verify its chain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx

from registry import (
    DEFAULT_MAX_CHAIN,
    Handle,
    HandleValue,
    InvalidInput,
    Problem,
    RecordService,
    Verdict,
)
from registry import verify_record as verify_values

from .fetch import HttpFetcher

__all__ = ["load_root", "verify_handle"]


def load_root(path: str | Path | None) -> str:
    """The root certificate (a compact JWS) kept in ``path``."""
    if not path:
        raise InvalidInput("no root certificate: pass --root FILE or set IDNODE_TRUST_ROOT_FILE")
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read the root certificate {path}: {exc.strerror}") from exc


async def verify_handle(
    handle: str,
    root_certificate: str,
    *,
    url: str | None = None,
    records: RecordService | None = None,
    max_chain: int = DEFAULT_MAX_CHAIN,
    now: int | None = None,
) -> Verdict:
    """Verify ``handle`` as served at ``url`` (or read from ``records``) against the root."""
    Handle.parse(handle)
    async with httpx.AsyncClient(timeout=10.0) as client:
        if url is not None:
            fetch = HttpFetcher(url, client)
        elif records is not None:

            async def fetch(name: str) -> Sequence[HandleValue] | None:
                record = await records.get(Handle.parse(name))
                return None if record is None else record.public().values

        else:
            raise InvalidInput("verify needs a node URL or local records")
        values = await fetch(handle)
        if values is None:
            return Verdict(
                handle, False, problems=(Problem("not-found", f"{handle} does not exist"),)
            )
        return await verify_values(
            handle, values, root_certificate, fetch, max_chain=max_chain, now=now
        )
