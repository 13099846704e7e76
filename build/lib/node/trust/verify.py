"""``idnode verify``: fetch a record (over HTTP or from the local store) and verify its chain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import httpx

from registry import Handle, HandleValue, InvalidInput, RecordService, Unavailable
from registry.trust import DEFAULT_MAX_CHAIN, Problem, Verdict
from registry.trust import verify_record as verify_values

from .fetch import HttpFetcher

__all__ = ["load_root", "read_root", "verify_handle"]


def load_root(path: str | Path | None) -> str:
    """The root certificate (a compact JWS) kept in ``path``."""
    if not path:
        raise InvalidInput("no root certificate: pass --root FILE or set IDNODE_TRUST_ROOT_FILE")
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read the root certificate {path}: {exc.strerror}") from exc


async def read_root(source: str | Path | None) -> str:
    """The root certificate from a file, or from a URL such as the top-level node's ``/root``."""
    text = str(source or "")
    if not text.startswith(("http://", "https://")):
        return load_root(source)
    async with httpx.AsyncClient(timeout=10.0) as client:
        try:
            response = await client.get(text)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot fetch the root certificate from {text}: {exc}") from exc
    if response.status_code != 200:
        raise Unavailable(f"the root certificate at {text} answered HTTP {response.status_code}")
    # GET /root answers {"certificate": ...}; any other URL may hold the bare JWS.
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            certificate = response.json().get("certificate")
        except (ValueError, AttributeError):
            certificate = None
        if not isinstance(certificate, str):
            raise InvalidInput(f"{text} answered JSON without a 'certificate' member")
        return certificate.strip()
    return response.text.strip()


async def verify_handle(
    handle: str,
    root_certificate: str,
    *,
    url: str | None = None,
    records: RecordService | None = None,
    max_chain: int = DEFAULT_MAX_CHAIN,
    now: int | None = None,
    credential: tuple[str, str] | None = None,
) -> Verdict:
    """Verify ``handle`` as served at ``url`` (or read from ``records``) against the root.

    Anonymously only the public values are read and verified; with a ``credential``
    (identity, secret) that may read the record, its non-public values and the signature
    that covers them are read and verified too.
    """
    Handle.parse(handle)
    auth = (
        None
        if credential is None
        else httpx.BasicAuth(quote(credential[0], safe=""), credential[1])
    )
    async with httpx.AsyncClient(timeout=10.0, auth=auth) as client:
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
