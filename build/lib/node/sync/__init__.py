"""Synchronisation with the top-level node: the outbox shipper, statistics, status."""

from .client import TopLevelClient
from .endpoints import router
from .lifecycle import open_sync
from .status import sync_status
from .worker import Identity, StatsSource, SyncWorker

__all__ = [
    "Identity",
    "StatsSource",
    "SyncWorker",
    "TopLevelClient",
    "open_sync",
    "router",
    "sync_status",
]
