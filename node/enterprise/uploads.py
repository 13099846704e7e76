"""An uploaded file spooled to disk as it arrives: bounded in size, digested for job ids."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from starlette.requests import ClientDisconnect, Request

from registry import InvalidInput, PayloadTooLarge, sniff_kind

__all__ = ["Upload", "spool"]


class Upload:
    """The spooled file, its kind (csv or xlsx) and the SHA-256 of its bytes and ``context``."""

    def __init__(self, path: Path, kind: str, digest: str) -> None:
        self.path = path
        self.kind = kind
        self.digest = digest


async def spool(request: Request, limit: int, context: str) -> Upload:
    """Write the body to a temporary file; 413 past ``limit`` bytes, 400 when empty."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file of {declared} bytes is over the limit of {limit} bytes")
    digest = hashlib.sha256(context.encode())
    descriptor, name = tempfile.mkstemp(prefix="idnode-import-")
    path = Path(name)
    size = 0
    head = b""
    try:
        with os.fdopen(descriptor, "wb") as target:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is over the limit of {limit} bytes")
                if len(head) < 4:
                    head += chunk[:4]
                digest.update(chunk)
                target.write(chunk)
        if not size:
            raise InvalidInput("the request body is empty: send the CSV or Excel file as the body")
    except ClientDisconnect as exc:
        path.unlink(missing_ok=True)
        raise InvalidInput("the client closed the connection before the file was complete") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return Upload(path, sniff_kind(head), digest.hexdigest()[:32])
