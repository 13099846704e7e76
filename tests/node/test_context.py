"""The node's context opens its resources in order and closes them in reverse, even halfway."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from loadtests import process_tree
from node.context import NodeContext
from node.settings import Settings
from node.sync import SyncWorker, open_sync
from registry import Handle, HandleValue
from registry.trust import KeyStore

LISTENER = "idnode-invalidation-listener"
SYNC_TASKS = {"idnode-sync-shipper", "idnode-sync-stats"}


def _task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


def _unused_url() -> str:
    """A loopback URL nothing listens on: the worker runs, retrying its onboarding."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _sealers() -> list[int]:
    """This process's sealing processes (not multiprocessing's resource tracker)."""
    found = []
    for child in process_tree(os.getpid())[1:]:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


async def _gone(pids: list[int], seconds: float = 15) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _serving(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"toplevel_url": _unused_url(), "sync_flush_seconds": 0.2, "sync_idle_seconds": 0.1}
    )


async def test_the_served_context_opens_each_resource_and_closes_it(
    settings: Settings, backend: str
) -> None:
    context = NodeContext(_serving(settings), listen=True, sync=open_sync)
    async with context:
        await context.db.ping()
        pool = context.db.engine.pool
        # Opened: the ping's connection is in the pool, or the sync worker holds it right now.
        assert pool.checkedin() + pool.checkedout() >= 1
        assert isinstance(context.sync, SyncWorker)
        assert _task_names() >= SYNC_TASKS
        if backend == "postgresql":
            assert LISTENER in _task_names()
    assert context.db.engine.pool.checkedin() == 0, "the database engine is not disposed"
    assert not (SYNC_TASKS | {LISTENER}) & _task_names()


async def test_a_command_context_has_no_listener_and_no_sync(settings: Settings) -> None:
    async with NodeContext(_serving(settings)) as context:
        assert context.sync is None
        assert not (SYNC_TASKS | {LISTENER}) & _task_names()
        await context.db.ping()
    assert context.db.engine.pool.checkedin() == 0


async def test_sync_is_opened_only_when_a_top_level_is_set(settings: Settings) -> None:
    async with NodeContext(settings, sync=open_sync) as context:
        assert settings.toplevel_url is None
        assert context.sync is None
        assert not SYNC_TASKS & _task_names()


async def test_a_failure_opening_sync_closes_what_was_opened_before(
    settings: Settings, backend: str, tmp_path: Path
) -> None:
    """The database, the signer's sealing processes and the resolver's listener all close."""
    KeyStore(tmp_path / "context-keys").generate()
    failing_settings = settings.model_copy(
        update={"keys_dir": str(tmp_path / "context-keys"), "sealing_processes": 1}
    )
    seen: dict[str, object] = {}

    @asynccontextmanager
    async def failing_sync(context: NodeContext) -> AsyncIterator[None]:
        await context.db.ping()
        assert context.signer is not None
        items = [
            (Handle.parse(f"88.118/{n}"), [HandleValue(1, "URL", "string", f"https://e/{n}")])
            for n in range(32)
        ]
        sealed = await context.signer.seal_many(items)
        assert all(isinstance(token, str) for token in sealed)
        seen["sealers"] = _sealers()
        seen["tasks"] = _task_names()
        raise RuntimeError("the top-level client cannot be built")
        yield

    context = NodeContext(failing_settings, listen=True, sync=failing_sync)
    with pytest.raises(RuntimeError, match="top-level client"):
        async with context:
            pytest.fail("the context opened although sync failed")
    assert seen["sealers"], "the batch was not sealed in a sealing process"
    if backend == "postgresql":
        assert LISTENER in seen["tasks"]  # type: ignore[operator]
    assert await _gone(seen["sealers"]), "the sealing process outlived the context"  # type: ignore[arg-type]
    assert LISTENER not in _task_names(), "the resolver's listener is still running"
    assert context.db.engine.pool.checkedin() == 0, "the database engine is not disposed"


async def test_a_failure_opening_the_signer_closes_the_database(
    settings: Settings, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "keys-file"
    not_a_directory.write_text("")
    broken = settings.model_copy(update={"keys_dir": str(not_a_directory)})
    context = NodeContext(broken, listen=True)
    with pytest.raises(OSError):
        async with context:
            pytest.fail("the context opened without its signer")
    assert not hasattr(context, "resolver"), "the resolver was opened after the signer failed"
