"""``idnode admin quota show|set``: what an operator types, and what it refuses."""

from __future__ import annotations

import json
import subprocess

import pytest

from .. import commands

ENV = {"IDNODE_NODE_CODE": "88.118"}


def idnode(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = commands.idnode({**ENV, "IDNODE_DATABASE_URL": url}, *args)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def migrated(database_url: str) -> str:
    """A migrated database holding one enterprise (1, Acme, 88.118.8)."""
    idnode(database_url, "migrate")
    idnode(database_url, "admin", "enterprise", "create", "--name", "Acme", "--prefix", "88.118.8")
    return database_url


def test_quotas_are_set_shown_and_removed_through_the_cli(migrated: str) -> None:
    shown = json.loads(
        idnode(migrated, "admin", "quota", "show", "--enterprise", "1", "--json").stdout
    )
    assert shown["quotas"] == dict.fromkeys(
        ("daily_resolutions", "daily_registrations", "identifiers", "prefixes")
    )
    assert shown["usage"]["prefixes"] == 1
    set_args = ("admin", "quota", "set", "--enterprise", "1", "--identifiers", "10")
    changed = json.loads(idnode(migrated, *set_args, "--prefixes", "1", "--json").stdout)
    assert changed["quotas"]["identifiers"] == 10 and changed["quotas"]["prefixes"] == 1
    # A quota left out stays; "none" removes one.
    again = json.loads(
        idnode(
            migrated, "admin", "quota", "set", "--enterprise", "1", "--prefixes", "none", "--json"
        ).stdout
    )
    assert again["quotas"]["identifiers"] == 10 and again["quotas"]["prefixes"] is None
    text = idnode(migrated, "admin", "quota", "show", "--enterprise", "1").stdout
    assert "identifiers" in text and "used of 10" in text and "used of no limit" in text
    # Each change is the operator's in the audit log (it read "node" before), never a show.
    log = json.loads(idnode(migrated, "admin", "audit", "--action", "quota.set", "--json").stdout)
    assert [(e["actor"].split(":")[0], e["via"], e["summary"]) for e in log["entries"]] == [
        ("operator", "cli", {"prefixes": None}),
        ("operator", "cli", {"identifiers": 10, "prefixes": 1}),
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--enterprise", "1", "--identifiers", "-1"), 2, "not a whole number"),
        (("--enterprise", "1", "--identifiers", "lots"), 2, "not a whole number"),
        (("--enterprise", "1", "--identifiers", "1.5"), 2, "not a whole number"),
        (("--enterprise", "7", "--identifiers", "1"), 1, "enterprise 7 does not exist"),
        (("--identifiers", "1"), 2, "--enterprise"),
        (("--enterprise", "1", "--prefixes", "9999999999"), 1, "prefixes is at most 2147483647"),
    ],
)
def test_bad_quota_commands_say_why(
    migrated: str,
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    result = idnode(migrated, "admin", "quota", "set", *args, check=False)
    assert result.returncode == code and message in result.stderr
