"""What an operator sees when a command cannot do its job: one line naming the problem, the
database URL with its password masked, and an exit code a script can branch on."""

from __future__ import annotations

import json

from loadtests import free_port
from node.cli import EXIT_CONFIG, EXIT_DATABASE, build_parser

from .. import commands


def _unreachable_url() -> str:
    return f"postgresql+asyncpg://bob:s3cret@127.0.0.1:{free_port()}/idnode"


def test_an_unreachable_database_is_one_line_with_the_url_masked() -> None:
    url = _unreachable_url()
    result = commands.idnode({"IDNODE_DATABASE_URL": url}, "migrate")
    assert result.returncode == EXIT_DATABASE
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("idnode: cannot reach the database at postgresql+asyncpg://bob:***@")
    assert "s3cret" not in result.stderr


def test_an_unreachable_database_as_a_real_process_and_as_json() -> None:
    env = {"IDNODE_DATABASE_URL": _unreachable_url()}
    result = commands.idnode(env, "migrate", "--json", process=True)
    assert result.returncode == EXIT_DATABASE
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    [line] = result.stderr.splitlines()
    error = json.loads(line)
    assert error["error"] == "DatabaseUnreachable"
    assert "bob:***@127.0.0.1" in error["message"]


def test_an_unsupported_database_scheme_names_the_setting_not_a_module() -> None:
    env = {"IDNODE_DATABASE_URL": "mysql://bob:s3cret@db.example/idnode"}
    result = commands.idnode(env, "admin", "enterprise", "list")
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.splitlines() == [
        "idnode: invalid settings: IDNODE_DATABASE_URL: unsupported database URL scheme"
        " 'mysql' (use sqlite+aiosqlite or postgresql+asyncpg)"
    ]
    assert "s3cret" not in result.stderr


def test_migrate_says_what_it_did(database_url: str) -> None:
    env = {"IDNODE_DATABASE_URL": database_url}
    created = commands.idnode(env, "migrate")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created the schema at ")
    again = commands.idnode(env, "migrate", "--json")
    outcome = json.loads(again.stdout)
    assert outcome["migrated"] is False and outcome["from"] == outcome["to"] != []
    assert commands.idnode(env, "migrate").stdout.startswith("schema already up to date at ")


def test_help_texts_are_plain_and_serve_options_have_help() -> None:
    parser = build_parser()
    assert "``" not in parser.format_help()
    serve = commands.idnode({}, "serve", "--help")
    assert serve.returncode == 0
    text = " ".join(serve.stdout.split())
    for option, help_text in [
        ("--host HOST", "address to bind (default 127.0.0.1)"),
        ("--port PORT", "HTTP port to bind (default 8000)"),
        ("--workers WORKERS", "worker processes sharing the ports (default 1)"),
        (
            "--log-level {debug,info,warning,error,critical}",
            "least severe level logged (default IDNODE_LOG_LEVEL, info)",
        ),
        ("--log-format {text,json}", "'json': one JSON object per line"),
        ("--no-access-log", "no line per HTTP request"),
        ("--allow-loopback-public-url", "bind a non-loopback host"),
    ]:
        assert f"{option} {help_text}" in text


def test_a_database_error_names_the_database(database_url: str) -> None:
    # An unmigrated database: the statement fails (no table) on a database that answers.
    result = commands.idnode({"IDNODE_DATABASE_URL": database_url}, "admin", "enterprise", "list")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("idnode: database error at "), line
    assert database_url.split("@", 1)[-1] in line
