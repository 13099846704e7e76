"""Sync figures, the same for ``idnode sync status`` and ``GET /admin/sync``."""

from __future__ import annotations

from typing import Any

from registry.storage import Database, SyncStore

from ..context import RunningSync

__all__ = ["sync_status"]


async def sync_status(
    db: Database, toplevel_url: str | None, worker: RunningSync | None
) -> dict[str, Any]:
    """Lag in rows and seconds, the last acknowledged batch, the last error."""
    if worker is not None:
        return {"enabled": True, **await worker.status()}
    figures = await SyncStore(db).status()
    return {"enabled": toplevel_url is not None, "toplevelUrl": toplevel_url, **figures}
