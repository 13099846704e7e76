"""The container image, the compose file, nginx and systemd, tested as far as this machine allows.

There is no Docker daemon here: the image's entrypoint and healthcheck run directly (a
``python:3.11-slim`` image runs the same ``sh`` and ``python``), the Dockerfile is read for what it
promises, the compose file is validated against the Compose Specification's JSON schema, nginx's
configuration with ``nginx -t`` and the systemd unit with ``systemd-analyze verify``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from loadtests._node import free_port
from node.cli import build_parser
from node.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"
BIN = Path(sys.executable).parent


def _needed(tool: str) -> str:
    """The tool's path; outside CI a missing tool skips, under CI=true it fails (.ci/run installs it)."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")
    return found


def _image_env(data: Path) -> dict[str, str]:
    """The environment the Dockerfile sets, with /data moved to ``data``."""
    env = {name: value.replace("/data", str(data)) for name, value in _dockerfile_env().items()}
    return {
        **os.environ,
        **env,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "IDNODE_HANDLE_PORT": "0",
        "IDNODE_CONFIG": "",
    }


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _dockerfile_env() -> dict[str, str]:
    env = {}
    for line in _dockerfile():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def _healthcheck(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), url], capture_output=True, text=True, timeout=30
    )


def test_the_image_keeps_all_state_under_data_and_runs_unprivileged() -> None:
    env = _dockerfile_env()
    for name in ("IDNODE_KEYS_DIR", "IDNODE_TOPLEVEL_ROOT_DIR"):
        assert env[name].startswith("/data/"), name
    assert env["IDNODE_DATABASE_URL"] == "sqlite+aiosqlite:////data/idnode.db"
    settings = set(Settings.model_fields)
    assert {n for n in env if n.startswith("IDNODE_")} <= {f"IDNODE_{f.upper()}" for f in settings}
    lines = _dockerfile()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "VOLUME /data" in lines
    # What the image runs is what it copies in, and the sources exist.
    copies = {}
    for line in lines:
        if line.startswith("COPY "):
            *sources, target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
            copies[target] = sources
    assert copies["/usr/local/bin/idnode-entrypoint"] == ["deploy/docker-entrypoint.sh"]
    assert copies["/usr/local/lib/idnode-healthcheck.py"] == ["deploy/healthcheck.py"]
    assert 'ENTRYPOINT ["idnode-entrypoint"]' in lines
    health = next(line for line in lines if line.startswith("HEALTHCHECK "))
    assert health.endswith('CMD ["python", "/usr/local/lib/idnode-healthcheck.py"]')
    assert os.access(ENTRYPOINT, os.X_OK)


@contextlib.contextmanager
def _entrypoint(env: dict[str, str], cwd: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """The entrypoint running ``args`` on 127.0.0.1:``port``; stopped with SIGTERM after."""
    process = subprocess.Popen(
        ["sh", str(ENTRYPOINT), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _wait_healthy(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while _healthcheck(url).returncode != 0:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, f"{url} did not become healthy"
        time.sleep(0.2)


def test_the_entrypoint_migrates_then_serves_and_the_healthcheck_sees_it(tmp_path: Path) -> None:
    env = _image_env(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ("serve", "--host", "127.0.0.1", "--port", str(port))
    with _entrypoint(env, tmp_path, *args) as process:
        _wait_healthy(process, f"{url}/healthz")
        assert httpx.get(f"{url}/readyz").status_code == 200  # migrated before serving
        assert (tmp_path / "idnode.db").exists()
        assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    # The entrypoint execs idnode, so the stop signal reaches it: a graceful shutdown, then
    # uvicorn re-raises the signal it caught (what `docker stop` sees as 143).
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "created the schema at" in output
    assert _healthcheck(f"{url}/healthz").returncode == 1
    assert "unhealthy" in _healthcheck(f"{url}/healthz").stderr


def test_the_entrypoint_runs_the_top_level_with_its_state_under_data(tmp_path: Path) -> None:
    env = {**_image_env(tmp_path), "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": "bootstrap"}
    port = free_port()
    args = ("toplevel", "--host", "127.0.0.1", "--port", str(port))
    with _entrypoint(env, tmp_path, *args) as process:
        _wait_healthy(process, f"http://127.0.0.1:{port}/healthz")
    assert (tmp_path / "toplevel.db").exists()
    assert (tmp_path / "root" / "root.jws").exists()


def test_the_entrypoint_runs_idnode_commands_and_programs(tmp_path: Path) -> None:
    env = _image_env(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(ENTRYPOINT), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("migrate").returncode == 0
    backed_up = run("backup", str(tmp_path / "node.idbackup"))
    assert backed_up.returncode == 0, backed_up.stderr
    assert backed_up.stdout.startswith("backed up ")
    echoed = run("sh", "-c", "echo $IDNODE_KEYS_DIR")
    assert echoed.stdout.strip() == str(tmp_path / "keys")
    wrong = run("no-such-command")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    checked = _validate(DEPLOY / "compose.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        (DEPLOY / "compose.yaml")
        .read_text()
        .replace("condition: service_completed_successfully", "condition: finished")
    )
    assert _validate(broken).returncode == 1  # the schema can tell


def test_the_compose_file_runs_two_nodes_sharing_keys_behind_the_proxy() -> None:
    services = _compose()["services"]
    assert {"postgres", "migrate", "toplevel", "node1", "node2", "proxy"} <= set(services)
    fields = {f"IDNODE_{f.upper()}" for f in Settings.model_fields}
    for name in ("node1", "node2"):
        node = services[name]
        assert node["volumes"] == ["node-keys:/data/keys"]
        assert node["environment"]["MIGRATE_ON_START"] == "false"
        assert node["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert {n for n in node["environment"] if n.startswith("IDNODE_")} <= fields
        trusted = node["environment"]["IDNODE_FORWARDED_ALLOW_IPS"]
        assert services["proxy"]["networks"]["idnode"]["ipv4_address"] == trusted
    assert services["toplevel"]["command"] == ["toplevel"]
    upstreams = re.findall(r"server (node\d):8000", (DEPLOY / "nginx.conf").read_text())
    assert upstreams == ["node1", "node2"]


def test_the_nginx_configuration_passes_nginx_t(tmp_path: Path) -> None:
    nginx = _needed("nginx")
    certs = tmp_path / "certs"
    certs.mkdir()
    made = subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=idnode.test", "-days", "1",
            "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem"),
        ],
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # The upstreams are compose's service names, which resolve only inside compose.
    text = (DEPLOY / "nginx.conf").read_text()
    text = re.sub(r"node\d:8000", "127.0.0.1:8000", text).replace("/etc/nginx/certs", str(certs))
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    pid = f"pid {tmp_path / 'nginx.pid'};"
    tested = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path), "-g", pid],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode == 0, tested.stderr
    assert "test is successful" in tested.stderr


def test_the_systemd_unit_verifies_and_its_commands_parse(tmp_path: Path) -> None:
    unit = (DEPLOY / "idnode.service").read_text()
    commands = re.findall(r"^Exec\w+=(.+)$", unit, flags=re.MULTILINE)
    for command in commands:
        program, *args = shlex.split(command)
        assert program == "/opt/idnode/bin/idnode"
        build_parser().parse_args(args)  # flags idnode has (argparse exits 2 otherwise)
    assert "NoNewPrivileges=yes" in unit and "ProtectSystem=strict" in unit
    analyze = _needed("systemd-analyze")
    local = tmp_path / "idnode.service"
    local.write_text(unit.replace("/opt/idnode/bin/idnode", str(BIN / "idnode")))
    verified = subprocess.run(
        [analyze, "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(local.read_text().replace("ProtectSystem=", "ProtectSystm="))
    complaint = subprocess.run(
        [analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert "Unknown key" in complaint.stderr  # verify does read the keys
