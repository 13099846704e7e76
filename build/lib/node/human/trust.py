"""The record page's mark: do the record's signatures chain to the national root?

The check runs in the node, once per cached entry (``page.record_view`` keeps the outcome with
it): the record's public values are verified with ``registry.trust.verify_record``, the
certificates it names fetched through the resolver. The root comes from
``IDNODE_TRUST_ROOT_FILE``, else from the top-level node's ``/root``; without one no mark shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from registry import Handle, HandleValue, NodeError, Record
from registry.trust import Verdict, verify_record
from resolver import Resolver

from ..settings import Settings
from ..trust.verify import read_root

__all__ = ["RootCertificate", "verify_for_page"]

logger = logging.getLogger("idnode.human")
# How long an unreachable top-level node is left alone before the root is asked for again.
RETRY_SECONDS = 60.0


class RootCertificate:
    """The national root certificate, read once (a file) or fetched once (the top-level node)."""

    def __init__(self, settings: Settings) -> None:
        self.source = settings.trust_root_file or (
            f"{settings.toplevel_url.rstrip('/')}/root" if settings.toplevel_url else None
        )
        self._text: str | None = None
        self._failed_at: float | None = None

    async def get(self) -> str | None:
        """The root (a compact JWS), or ``None`` when none is configured or reachable now."""
        if self._text is not None or self.source is None:
            return self._text
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            return None
        try:
            self._text = await read_root(self.source)
        except NodeError as exc:
            self._failed_at = time.monotonic()
            logger.warning("the record page shows no signature mark: %s", exc.message)
        return self._text


async def verify_for_page(
    record: Record, root: str | None, resolver: Resolver, max_chain: int
) -> Verdict | None:
    """The verdict on ``record``'s public values, or ``None`` when it has no signature or no
    root is known (nothing to say either way)."""
    if root is None or not any(v.type == "HS_SIGNATURE" for v in record.values):
        return None

    async def fetch(name: str) -> Sequence[HandleValue] | None:
        found = (await resolver.lookup(Handle.parse(name))).record()
        return None if found is None else found.public().values

    try:
        return await verify_record(
            str(record.handle), record.values, root, fetch, max_chain=max_chain
        )
    except NodeError as exc:
        logger.warning("cannot verify %s for its page: %s", record.handle, exc)
        return None
