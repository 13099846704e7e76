"""``idnode serve``'s log, from a real process: JSON lines, idnode's own INFO lines, request ids
on the hot path and elsewhere, and the access log switched off."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ..servers import NodeProcess, free_port
from .syncing import BOOTSTRAP, TopLevel

pytestmark = pytest.mark.slow

SANE = re.compile(r"[A-Za-z0-9\-._:]{1,128}")


def _entries(log: Path) -> list[dict]:
    """Every line of the log, each of which must be one JSON object."""
    return [json.loads(line) for line in log.read_text().splitlines()]


def _wait_for(log: Path, found: Callable[[list[dict]], bool], what: str) -> list[dict]:
    deadline = time.monotonic() + 60
    while True:
        entries = _entries(log)
        if found(entries):
            return entries
        assert time.monotonic() < deadline, f"no {what} in the log: {entries}"
        time.sleep(0.1)


def test_json_log_has_idnode_info_lines_and_each_request_s_id(
    migrated_url: str, tmp_path: Path
) -> None:
    top_port = free_port()
    env = {
        "IDNODE_DATABASE_URL": migrated_url,
        "IDNODE_TOPLEVEL_URL": f"http://127.0.0.1:{top_port}",
        "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
        "IDNODE_SYNC_IDLE_SECONDS": "0.2",
        "IDNODE_HANDLE_PORT": "0",
    }
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-format", "json"]
    log = tmp_path / "node.log"
    with (
        TopLevel(tmp_path / "toplevel.db", top_port),
        NodeProcess(env, args, port=port, log=log) as node,
    ):
        entries = _wait_for(
            log,
            lambda es: any(e["message"].startswith("sync: onboarded at") for e in es),
            "onboarding line",
        )
        onboarded = next(e for e in entries if e["message"].startswith("sync: onboarded"))
        assert (onboarded["level"], onboarded["logger"]) == ("INFO", "idnode.sync")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", onboarded["time"])
        assert "request_id" not in onboarded

        ids = {}
        # The hot path (an anonymous resolution, twice: a miss, then a cached answer) and the app.
        for n, path in enumerate(
            ["/api/handles/88.118/none", "/api/handles/88.118/none", "/healthz"]
        ):
            given = f"client-{n}.trace:1"
            response = httpx.get(f"{node.url}{path}", headers={"X-Request-ID": given}, timeout=30)
            assert response.headers["x-request-id"] == given
            ids[given] = path
        bad = httpx.get(f"{node.url}/healthz", headers={"X-Request-ID": "no spaces, please"})
        replaced = bad.headers["x-request-id"]
        assert replaced != "no spaces, please" and SANE.fullmatch(replaced)
        none = httpx.get(f"{node.url}/healthz").headers["x-request-id"]
        assert SANE.fullmatch(none) and none != replaced
        ids[replaced] = ids[none] = "/healthz"

        entries = _wait_for(
            log,
            lambda es: {e.get("request_id") for e in es} >= ids.keys(),
            "line of every request",
        )
    for rid, path in ids.items():
        lines = [e for e in entries if e.get("request_id") == rid]
        assert [(e["logger"], path in e["message"]) for e in lines] == [("uvicorn.access", True)]


def test_access_log_off_by_environment(migrated_url: str, tmp_path: Path) -> None:
    env = {
        "IDNODE_DATABASE_URL": migrated_url,
        "IDNODE_HANDLE_PORT": "0",
        "IDNODE_LOG_FORMAT": "json",
        "IDNODE_ACCESS_LOG": "false",
    }
    log = tmp_path / "node.log"
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with NodeProcess(env, args, port=port, log=log) as node:
        for path in ["/healthz", "/api/handles/88.118/none"]:
            assert httpx.get(f"{node.url}{path}", timeout=30).headers["x-request-id"]
        # uvicorn's last startup line comes after the node's; requests were answered since.
        entries = _entries(log)
    assert any(e["logger"] == "uvicorn.error" and e["level"] == "INFO" for e in entries)
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]


def test_access_log_off_by_flag_in_text(migrated_url: str, tmp_path: Path) -> None:
    env = {"IDNODE_DATABASE_URL": migrated_url, "IDNODE_HANDLE_PORT": "0"}
    log = tmp_path / "node.log"
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with NodeProcess(env, args, port=port, log=log) as node:
        assert httpx.get(f"{node.url}/healthz", timeout=30).status_code == 200
    lines = log.read_text().splitlines()
    assert any(
        re.fullmatch(r"\S+Z INFO uvicorn\.error Application startup complete\.", line)
        for line in lines
    ), lines
    assert not [line for line in lines if "uvicorn.access" in line or "GET /healthz" in line]


def test_json_logs_from_a_config_file_find_a_request_by_its_id(
    migrated_url: str, tmp_path: Path
) -> None:
    """The README's walk-through: a TOML config file says JSON, a request's id is in its line."""
    config = tmp_path / "idnode.toml"
    config.write_text(f'database_url = "{migrated_url}"\nlog_format = "json"\nhandle_port = 0\n')
    port = free_port()
    args = ["--config", str(config), "serve", "--port", str(port)]
    log = tmp_path / "node.log"
    # Only the file: NodeProcess's own settings are the file's (the environment would win).
    env = {"IDNODE_DATABASE_URL": migrated_url, "IDNODE_HANDLE_PORT": "0"}
    with NodeProcess(env, args, port=port, log=log) as node:
        response = httpx.get(
            f"{node.url}/api/handles/88.118.8/NOPE", headers={"X-Request-ID": "order-4711"}
        )
        assert (response.status_code, response.headers["x-request-id"]) == (404, "order-4711")
        entries = _wait_for(
            log, lambda es: any(e.get("request_id") == "order-4711" for e in es), "request's line"
        )
    [line] = [e for e in entries if e.get("request_id") == "order-4711"]
    assert line["logger"] == "uvicorn.access" and "/api/handles/88.118.8/NOPE" in line["message"]
    assert "404" in line["message"]
