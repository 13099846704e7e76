"""Synchronisation with the top-level node: the outbox shipper, statistics, status."""

from .client import TopLevelClient
from .endpoints import router
from .lifecycle import start_sync, stop_sync
from .status import sync_status
from .worker import Identity, StatsSource, SyncWorker

__all__ = [
    "Identity",
    "StatsSource",
    "SyncWorker",
    "TopLevelClient",
    "router",
    "start_sync",
    "stop_sync",
    "sync_status",
]
