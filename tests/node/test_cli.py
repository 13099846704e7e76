"""The ``idnode`` command as an operator scripts it: ``--json`` output, exit codes, stderr.

The commands run in the test's process (``tests/commands.py``); a failure's exit code and its one
line on stderr are checked on a real process too.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from .. import commands


def idnode(
    database_url: str, *args: str, check: bool = True, process: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {"IDNODE_DATABASE_URL": database_url, "IDNODE_NODE_CODE": "88.118"}
    result = commands.idnode(env, *args, process=process)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def migrated(database_url: str) -> str:
    result = idnode(database_url, "migrate", "--json")
    assert json.loads(result.stdout)["migrated"] is True
    return database_url


def test_enterprise_lifecycle_through_the_cli(migrated: str) -> None:
    first = json.loads(
        idnode(migrated, "admin", "enterprise", "create", "--name", "Acme", "--json").stdout
    )
    assert first["prefix"] == "88.118.1"
    assert first["username"] == "300:88.118.1/ADMIN" and len(first["password"]) >= 16

    chosen = json.loads(
        idnode(
            migrated,
            "admin",
            "enterprise",
            "create",
            "--name",
            "Beta",
            "--prefix",
            "88.118.8",
            "--json",
        ).stdout
    )
    assert chosen["prefix"] == "88.118.8"
    nxt = json.loads(
        idnode(migrated, "admin", "enterprise", "create", "--name", "Gamma", "--json").stdout
    )
    assert nxt["prefix"] == "88.118.9"

    extra = json.loads(
        idnode(
            migrated, "admin", "prefix", "allocate", "--enterprise", str(first["id"]), "--json"
        ).stdout
    )
    assert extra["prefix"] == "88.118.10"

    issued = json.loads(
        idnode(migrated, "admin", "credential", "issue", "--prefix", "88.118.1", "--json").stdout
    )
    assert issued["username"] == "301:88.118.1/ADMIN"

    listing = json.loads(idnode(migrated, "admin", "enterprise", "list", "--json").stdout)[
        "enterprises"
    ]
    acme = next(e for e in listing if e["name"] == "Acme")
    assert acme["prefixes"] == ["88.118.1", "88.118.10"]
    assert set(acme["credentials"]) >= {"300:88.118.1/ADMIN", "301:88.118.1/ADMIN"}

    revoked = json.loads(
        idnode(
            migrated, "admin", "credential", "revoke", "--username", "301:88.118.1/ADMIN", "--json"
        ).stdout
    )
    assert revoked == {"revoked": "301:88.118.1/ADMIN"}
    listing = json.loads(idnode(migrated, "admin", "enterprise", "list", "--json").stdout)[
        "enterprises"
    ]
    assert (
        "301:88.118.1/ADMIN" not in next(e for e in listing if e["name"] == "Acme")["credentials"]
    )


def test_cli_errors_are_clear_and_exit_nonzero(migrated: str) -> None:
    idnode(migrated, "admin", "enterprise", "create", "--name", "Acme", "--prefix", "88.118.8")
    clash = idnode(
        migrated,
        "admin",
        "enterprise",
        "create",
        "--name",
        "Again",
        "--prefix",
        "88.118.8",
        "--json",
        check=False,
    )
    assert clash.returncode == 1
    assert "already allocated" in json.loads(clash.stderr)["message"]
    outside = idnode(
        migrated, "admin", "enterprise", "create", "--name", "X", "--prefix", "77.1", check=False
    )
    assert outside.returncode == 1 and "not under this node's code" in outside.stderr
    unknown = idnode(
        migrated, "admin", "credential", "revoke", "--username", "399:88.118.8/ADMIN", check=False
    )
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr


def test_demo_is_idempotent(migrated: str) -> None:
    first = json.loads(idnode(migrated, "demo", "--json").stdout)
    second = json.loads(idnode(migrated, "demo", "--json").stdout)
    assert first == second
    assert "88.118.8/JXDY2106023" in first["handles"]


def test_a_revoked_credential_is_replaced_through_the_cli(migrated: str) -> None:
    idnode(migrated, "admin", "enterprise", "create", "--name", "Acme", "--prefix", "88.118.2")
    idnode(migrated, "admin", "credential", "revoke", "--username", "300:88.118.2/ADMIN")
    issued = idnode(
        migrated, "admin", "credential", "issue", "--prefix", "88.118.2", "--json", check=False
    )
    assert "scrypt$" not in issued.stderr and "aesgcm1$" not in issued.stderr
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout)["username"] == "301:88.118.2/ADMIN"


def test_an_unexpected_cli_failure_is_one_line_without_a_traceback(database_url: str) -> None:
    # An unmigrated database: on PostgreSQL the statement fails inside SQLAlchemy (not as a
    # NodeError), as the UNIQUE violation of a reused credential index did.
    for process in (False, True):
        failed = idnode(
            database_url,
            "admin",
            "credential",
            "issue",
            "--prefix",
            "88.118.2",
            check=False,
            process=process,
        )
        assert failed.returncode == 1
        assert "Traceback" not in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        assert failed.stderr.startswith("idnode: ")
