"""Starting and stopping sync from the app's lifespan."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from registry import SecretBox, SyncStore

from ..context import NodeContext
from ..trust.identity import NodeIdentity, ensure_key
from .client import TopLevelClient
from .worker import StatsSource, SyncWorker

__all__ = ["SEALING_KEY_FILE", "start_sync", "stop_sync"]

# Beside the node's signing keys: the key that seals the top-level sync token in the database.
SEALING_KEY_FILE = "secrets.key"


def start_sync(app: FastAPI, context: NodeContext) -> SyncWorker | None:
    """Start shipping when ``IDNODE_TOPLEVEL_URL`` is set; the worker is ``app.state.sync``.

    The node onboards with its trust key, generated here on a first start.
    """
    settings = context.settings
    app.state.sync = None
    if not settings.toplevel_url:
        return None
    ensure_key(settings)
    bootstrap = settings.toplevel_bootstrap_token
    worker = SyncWorker(
        SyncStore(context.db, SecretBox.at(Path(settings.keys_dir) / SEALING_KEY_FILE)),
        TopLevelClient(settings.toplevel_url),
        node_code=settings.node_code,
        public_url=settings.public_url,
        bootstrap_token=None if bootstrap is None else bootstrap.get_secret_value(),
        batch_size=settings.sync_batch_size,
        idle_seconds=settings.sync_idle_seconds,
        backoff_max_seconds=settings.sync_backoff_max_seconds,
        stats_interval_seconds=settings.stats_interval_seconds,
        identity=NodeIdentity(context),
    )
    context.records.writer.add_listener(worker.changed)
    worker.stats_sources.append(_resolution_stats(context))
    worker.start()
    app.state.sync = worker
    return worker


async def stop_sync(app: FastAPI) -> None:
    worker = getattr(app.state, "sync", None)
    if worker is not None:
        await worker.stop(app.state.node.settings.sync_flush_seconds)


def _resolution_stats(context: NodeContext) -> StatsSource:
    """This process's resolutions and cache hit ratio, for the periodic statistics report."""

    async def source() -> dict[str, float]:
        return context.resolver.stats()

    return source
