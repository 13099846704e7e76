"""Configuration as an operator meets it: a config file (TOML or .env) under the environment,
``idnode config show`` with sources and masked secrets, ``--version``, the generated README table,
and serve's refusal to publish a loopback URL while binding every interface."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from loadtests import free_port
from node.cli import EXIT_CONFIG, _is_loopback
from node.config_cli import TABLE_END, TABLE_START, settings_table, updated_readme

from .. import commands
from ..servers import NodeProcess

README = Path(__file__).resolve().parents[2] / "README.md"

# What the suite's own fixtures set (tests/conftest.py); every other IDNODE_ variable comes from
# whoever runs the tests (`make test` exports the demo tokens) and would win over a config file.
_SUITE_SETTINGS = {"IDNODE_KEYS_DIR", "IDNODE_TOPLEVEL_ROOT_DIR", "IDNODE_HANDLE_PORT"}


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IDNODE_") and name not in _SUITE_SETTINGS:
            monkeypatch.delenv(name)


def _show(env: dict[str, str], *args: str) -> dict:
    result = commands.idnode(env, *args, "config", "show", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_toml_file_under_the_environment_with_sources_and_masked_secrets(tmp_path: Path) -> None:
    config = tmp_path / "idnode.toml"
    config.write_text(
        'node_code = "88.200"\nadmin_token = "file-secret"\nkeep_alive_seconds = 30\n'
        'public_url = "https://id.example.com"\n'
    )
    shown = _show({"IDNODE_KEEP_ALIVE_SECONDS": "9"}, "--config", str(config))
    settings = shown["settings"]
    assert shown["configFile"] == str(config)
    assert settings["IDNODE_NODE_CODE"] == {"value": "88.200", "source": "file"}
    assert settings["IDNODE_PUBLIC_URL"] == {"value": "https://id.example.com", "source": "file"}
    assert settings["IDNODE_KEEP_ALIVE_SECONDS"] == {"value": 9, "source": "env"}
    assert settings["IDNODE_ADMIN_TOKEN"] == {"value": "********", "source": "file"}
    assert settings["IDNODE_HTTP_MAX_HEADERS"] == {"value": 100, "source": "default"}
    text = commands.idnode({}, "--config", str(config), "config", "show")
    assert "file-secret" not in text.stdout and "file-secret" not in json.dumps(shown)


def test_a_dotenv_file_named_by_idnode_config(tmp_path: Path) -> None:
    config = tmp_path / "node.env"
    config.write_text("IDNODE_NODE_CODE=88.300\nIDNODE_CREDENTIAL_KEY=k\n")
    settings = _show({"IDNODE_CONFIG": str(config)})["settings"]
    assert settings["IDNODE_NODE_CODE"] == {"value": "88.300", "source": "file"}
    assert settings["IDNODE_CREDENTIAL_KEY"] == {"value": "********", "source": "file"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("typo.toml", 'node_cod = "88.1"\n', "sets unknown settings: node_cod"),
        (
            "typo.env",
            "IDNODE_NODE_COD=88.1\nNODE_CODE=1\n",
            "unknown settings: IDNODE_NODE_COD, NODE",
        ),
        ("broken.toml", "node_code = \n", "cannot be parsed"),
        ("missing.toml", None, "cannot read the config file"),
        ("bad.toml", 'keep_alive_seconds = "soon"\n', "IDNODE_KEEP_ALIVE_SECONDS:"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    config = tmp_path / name
    if content is not None:
        config.write_text(content)
    result = commands.idnode({}, "--config", str(config), "config", "show")
    assert result.returncode == EXIT_CONFIG
    [line] = result.stderr.splitlines()
    assert line.startswith("idnode: ") and message in line


def test_version() -> None:
    result = commands.idnode({}, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "idnode 0.1.0"


def test_the_readme_table_is_the_settings_model() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    assert text[start:end].strip() == settings_table(), (
        "README.md's settings table is out of date: run idnode config table --update README.md"
    )
    assert updated_readme(text) == text
    assert "`IDNODE_PUBLIC_URL`" in settings_table()


def test_the_table_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{TABLE_START}\n| stale |\n{TABLE_END}\nafter\n")
    result = commands.idnode({}, "config", "table", "--update", str(readme))
    assert result.returncode == 0, result.stderr
    assert readme.read_text() == f"before\n{TABLE_START}\n{settings_table()}\n{TABLE_END}\nafter\n"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.7", False),
        ("id.example.com", False),
        (None, None),
    ],
)
def test_loopback_hosts(host: str | None, loopback: bool | None) -> None:
    assert _is_loopback(host) is loopback


def test_serve_refuses_a_loopback_public_url_on_every_interface() -> None:
    result = commands.idnode(
        {"IDNODE_PUBLIC_URL": "http://localhost:8000"},
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
    )
    assert result.returncode == EXIT_CONFIG
    [line] = result.stderr.splitlines()
    assert line.startswith("idnode: IDNODE_PUBLIC_URL http://localhost:8000 is a loopback URL")
    assert "--allow-loopback-public-url" in line


def test_a_node_started_from_a_config_file_on_every_interface(
    tmp_path: Path, migrated_url: str
) -> None:
    config = tmp_path / "idnode.toml"
    config.write_text(
        f'database_url = "{migrated_url}"\nnode_code = "88.201"\n'
        'public_url = "https://id.example.com"\nhandle_port = 0\n'
    )
    port = free_port()
    args = ["--config", str(config), "serve", "--host", "0.0.0.0", "--port", str(port)]
    # The environment overrides the file: the same values as the file, or none at all.
    env = {"IDNODE_DATABASE_URL": migrated_url, "IDNODE_HANDLE_PORT": "0"}
    with NodeProcess(env, args, port=port) as node:
        answer = httpx.get(f"{node.url}/readyz", timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["nodeCode"] == "88.201"
