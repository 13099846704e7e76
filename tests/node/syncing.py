"""The simulated top-level node as a process, and waiting on a node's sync, for sync tests."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from ..servers import NodeProcess, ThreadedServer
from .helpers import ADMIN_HEADERS

__all__ = [
    "BOOTSTRAP",
    "OPERATOR",
    "OPS",
    "TopLevel",
    "journal",
    "sync_status",
    "wait_until_synced",
]

BOOTSTRAP = "sync-test-bootstrap"
OPERATOR = "sync-test-operator"
# The top-level node's read API and fault switches answer its operator.
OPS = {"Authorization": f"Bearer {OPERATOR}"}


class TopLevel(NodeProcess):
    """``idnode toplevel`` on a fixed port and SQLite file, so it can come back where it was."""

    def __init__(self, db: Path, port: int) -> None:
        args = ["toplevel", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
        super().__init__(
            {
                "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
                "IDNODE_TOPLEVEL_OPERATOR_TOKEN": OPERATOR,
            },
            [*args, "--log-level", "warning"],
            port=port,
        )


def sync_status(node: NodeProcess | ThreadedServer) -> dict:
    response = httpx.get(f"{node.url}/admin/sync", headers=ADMIN_HEADERS, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_until_synced(node: NodeProcess | ThreadedServer, timeout: float = 240) -> dict:
    """Poll the node's sync status until its outbox is empty (bounded, never a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        status = sync_status(node)
        if status["pendingRows"] == 0 and status["inflightSeq"] is None:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"sync did not catch up: {status}")
        time.sleep(0.2)


def journal(toplevel_url: str, code: str = "88.118") -> list[dict]:
    """Every change the top-level node applied for ``code``, in the order applied."""
    changes: list[dict] = []
    with httpx.Client(base_url=toplevel_url, headers=OPS, timeout=30) as client:
        while True:
            after = changes[-1]["id"] if changes else 0
            page = client.get(
                f"/nodes/{code}/changes", params={"after": after, "limit": 10_000}
            ).json()["changes"]
            if not page:
                return changes
            changes.extend(page)
