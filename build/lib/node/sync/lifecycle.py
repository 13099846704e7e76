"""Opening and closing sync as the last resource of the node's context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from registry.storage import SyncStore
from registry.trust import SecretBox
from resolver import Resolver

from ..context import NodeContext
from ..dns.advertise import dns_frontend
from ..trust.identity import NodeIdentity, ensure_key
from .client import TopLevelClient
from .worker import StatsSource, SyncWorker

__all__ = ["SEALING_KEY_FILE", "open_sync"]

# Beside the node's signing keys: the key that seals the top-level sync token in the database.
SEALING_KEY_FILE = "secrets.key"


@asynccontextmanager
async def open_sync(context: NodeContext) -> AsyncIterator[SyncWorker | None]:
    """Ship the outbox while open when ``IDNODE_TOPLEVEL_URL`` is set (else yield None).

    The node onboards with its trust key, generated here on a first start. Closing ships what is
    left for up to ``IDNODE_SYNC_FLUSH_SECONDS``, then stops the worker and its HTTP client.
    """
    settings = context.settings
    if not settings.toplevel_url:
        yield None
        return
    ensure_key(settings)
    bootstrap = settings.toplevel_bootstrap_token
    worker = SyncWorker(
        SyncStore(
            context.db,
            SecretBox.at(
                Path(settings.keys_dir) / SEALING_KEY_FILE,
                "SM4" if settings.crypto_profile == "gm" else "AES",
            ),
        ),
        TopLevelClient(settings.toplevel_url),
        node_code=settings.node_code,
        public_url=settings.public_url,
        bootstrap_token=None if bootstrap is None else bootstrap.get_secret_value(),
        batch_size=settings.sync_batch_size,
        idle_seconds=settings.sync_idle_seconds,
        backoff_max_seconds=settings.sync_backoff_max_seconds,
        stats_interval_seconds=settings.stats_interval_seconds,
        identity=NodeIdentity(settings, context.records),
        dns=dns_frontend(settings),
    )
    try:
        context.records.writer.add_listener(worker.changed)
        worker.stats_sources.append(_resolution_stats(context.resolver))
        worker.start()
        yield worker
    finally:
        await worker.stop(settings.sync_flush_seconds)


def _resolution_stats(resolver: Resolver) -> StatsSource:
    """This process's resolutions and cache hit ratio, for the periodic statistics report."""

    async def source() -> dict[str, float]:
        return resolver.stats()

    return source
