"""The audit log: one row per administrative action, written with it, never changed after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from registry import (
    ADMIN,
    Actor,
    AlreadyExists,
    AuditService,
    BatchService,
    EnterpriseService,
    EntityNotFound,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    Prefix,
    Principal,
    RecordService,
    Role,
    TemplateService,
    acting_as,
    audit,
    parse_moment,
)
from registry.storage import Database
from registry.trust import CipherKey, public_key_data

OPERATOR = Actor("operator:alice", "operator", "cli", "host-1")
TEMPLATE = {
    "prefix": "88.118.1",
    "version": "v1",
    "items": [{"name": "batch", "idType": "BATCH", "idIndex": 2000, "required": True}],
}


class Node:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.records = RecordService(db)
        self.enterprises = EnterpriseService(
            db, self.records, Prefix.parse("88.118"), cipher_key=CipherKey("test-key")
        )
        self.templates = TemplateService(db)
        self.batches = BatchService(db, self.records, self.templates)
        self.audit = AuditService(db)

    async def rows(self) -> list[dict]:
        page = await self.audit.find(limit=1000)
        return [entry.as_dict() for entry in reversed(page.entries)]

    async def everything_stored(self) -> str:
        """Every column of every audit row, as one text."""
        async with self.db.read() as session:
            rows = (await session.execute(text("SELECT * FROM audit_log"))).all()
        return repr(rows)


@pytest.fixture
def node(db: Database) -> Node:
    return Node(db)


def _owner(prefix: str) -> Principal:
    return Principal(Role.ENTERPRISE, f"300:{prefix}/ADMIN", 1, frozenset({prefix}))


def _pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_each_enterprise_action_is_one_row_with_who_when_and_what(node: Node) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    with acting_as(OPERATOR):
        info, credential = await node.enterprises.create("Acme", "88.118.1")
        prefix = await node.enterprises.allocate_prefix(info.id, "88.118.2")
        issued = await node.enterprises.issue_credential("88.118.1")
        key_user = await node.enterprises.register_public_key("88.118.1", public_key_data(_pem()))
        await node.enterprises.revoke_credential(issued.username)
    rows = await node.rows()
    assert [(r["action"], r["target"]) for r in rows] == [
        ("enterprise.create", "88.118.1"),
        ("prefix.allocate", prefix),
        ("credential.issue", "88.118.1/ADMIN"),
        ("credential.add_key", "88.118.1/ADMIN"),
        ("credential.revoke", "88.118.1/ADMIN"),
    ]
    assert rows[0]["summary"] == {
        "credential": credential.username,
        "enterprise": info.id,
        "name": "Acme",
    }
    assert rows[2]["summary"]["username"] == issued.username
    assert rows[3]["summary"]["username"] == key_user
    assert rows[4]["summary"]["username"] == issued.username
    for row in rows:
        assert (row["actor"], row["role"], row["via"], row["client"]) == (
            "operator:alice",
            "operator",
            "cli",
            "host-1",
        )
        assert before <= parse_moment(row["at"]) <= datetime.now(UTC)
    stored = await node.everything_stored()
    for secret in (credential.password, issued.password):
        assert secret not in stored


async def test_without_a_frontend_the_node_is_the_actor(node: Node) -> None:
    await node.enterprises.create("Acme", "88.118.1")
    (row,) = await node.rows()
    assert (row["actor"], row["role"], row["via"], row["client"]) == ("node", "node", "node", None)


async def test_failed_actions_leave_no_row(node: Node) -> None:
    info, _ = await node.enterprises.create("Acme", "88.118.1")
    with pytest.raises(InvalidInput):
        await node.enterprises.create("Elsewhere", "88.119.1")
    with pytest.raises(AlreadyExists):
        await node.enterprises.allocate_prefix(info.id, "88.118.1")
    with pytest.raises(EntityNotFound):
        await node.enterprises.allocate_prefix(info.id + 1)
    with pytest.raises(EntityNotFound):
        await node.enterprises.issue_credential("88.118.9")
    with pytest.raises(EntityNotFound):
        await node.enterprises.revoke_credential("399:88.118.1/ADMIN")
    await node.templates.create(_owner("88.118.1"), TEMPLATE)
    with pytest.raises(AlreadyExists):
        await node.templates.create(_owner("88.118.1"), TEMPLATE)
    with pytest.raises(EntityNotFound):
        await node.templates.delete(_owner("88.118.1"), "88.118.1", "v9")
    with pytest.raises(HandleNotFound):
        await node.records.delete(ADMIN, Handle.parse("88.118.1/NONE"))
    assert [r["action"] for r in await node.rows()] == ["enterprise.create", "template.create"]


async def test_template_actions_are_recorded(node: Node) -> None:
    owner = _owner("88.118.1")
    with acting_as(Actor.of(owner, "http", "10.0.0.7", "req-1")):
        await node.templates.create(owner, TEMPLATE)
        await node.templates.update(owner, {**TEMPLATE, "description": "changed"})
        await node.templates.delete(owner, "88.118.1", "v1")
    rows = await node.rows()
    assert [(r["action"], r["target"], r["summary"]) for r in rows] == [
        ("template.create", "88.118.1", {"items": [2000], "version": "v1"}),
        ("template.update", "88.118.1", {"items": [2000], "version": "v1"}),
        ("template.delete", "88.118.1", {"version": "v1"}),
    ]
    assert {(r["actor"], r["role"], r["client"], r["request_id"]) for r in rows} == {
        ("300:88.118.1/ADMIN", "enterprise", "10.0.0.7", "req-1")
    }


async def test_deletions_of_records_and_values_are_recorded(node: Node) -> None:
    owner = _owner("88.118.1")
    values = [HandleValue(1, "URL", "string", "https://a"), HandleValue(2, "EMAIL", "string", "e")]
    for suffix in ("A", "B", "C", "D"):
        await node.records.put(owner, Handle.parse(f"88.118.1/{suffix}"), values)
    assert await node.rows() == []  # registering is not an administrative action
    await node.records.delete(owner, Handle.parse("88.118.1/A"))
    await node.records.delete(owner, Handle.parse("88.118.1/B"), [2])
    handles = [Handle.parse(f"88.118.1/{s}") for s in ("C", "MISSING", "D")]
    results = await node.batches.delete_many(owner, handles)
    assert isinstance(results[1], HandleNotFound)
    rows = await node.rows()
    assert [(r["action"], r["target"], r["summary"]) for r in rows] == [
        ("handle.delete", "88.118.1/A", {}),
        ("handle.delete_values", "88.118.1/B", {"indexes": [2]}),
        ("handle.delete", "88.118.1/C", {"batch": 3}),
        ("handle.delete", "88.118.1/D", {"batch": 3}),
    ]


async def test_summary_keys_naming_secrets_are_masked(node: Node) -> None:
    async with node.db.write() as session:
        await audit(
            session,
            "quota.set",
            "88.118.1",
            {"password": "p4ss", "private_key": "k3y", "apiToken": "t0k", "limit": 5},
        )
    (row,) = await node.rows()
    assert row["summary"] == {
        "apiToken": "***",
        "limit": 5,
        "password": "***",
        "private_key": "***",
    }
    assert "p4ss" not in await node.everything_stored()


async def test_a_rolled_back_transaction_takes_its_row_with_it(node: Node) -> None:
    with pytest.raises(RuntimeError):
        async with node.db.write() as session:
            await audit(session, "quota.set", "88.118.1")
            raise RuntimeError("the action failed after recording itself")
    assert await node.rows() == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"],
)
async def test_rows_cannot_be_changed_or_deleted(node: Node, statement: str) -> None:
    await node.enterprises.create("Acme", "88.118.1")
    with pytest.raises(DBAPIError, match="append-only"):
        async with node.db.write() as session:
            await session.execute(text(statement))
    assert [r["actor"] for r in await node.rows()] == ["node"]


# SQLite has no TRUNCATE: its DELETE without WHERE is refused above.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgresql_refuses_truncate_too(node: Node) -> None:
    await node.enterprises.create("Acme", "88.118.1")
    with pytest.raises(DBAPIError, match="append-only"):
        async with node.db.write() as session:
            await session.execute(text("TRUNCATE audit_log"))
    assert len(await node.rows()) == 1


async def _seed(node: Node) -> None:
    for n, (actor, action, target) in enumerate(
        [
            ("admin", "enterprise.create", "88.118.1"),
            ("admin", "prefix.allocate", "88.118.10"),
            ("300:88.118.1/ADMIN", "handle.delete", "88.118.1/X"),
            ("operator:bob", "credential.revoke", "88.118.2/ADMIN"),
            ("admin", "handle.delete", "88.118.1/x"),
        ]
    ):
        with acting_as(Actor(actor, "admin", "http")):
            async with node.db.write() as session:
                at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=n)
                await audit(session, action, target, {"n": n}, at=at)


async def test_find_filters_by_time_actor_action_and_target_start(node: Node) -> None:
    await _seed(node)

    async def found(**filters: object) -> list[int]:
        page = await node.audit.find(**filters)  # type: ignore[arg-type]
        return [entry.summary["n"] for entry in page.entries]

    assert await found() == [4, 3, 2, 1, 0]
    assert await found(since=parse_moment("2026-12-02")) == [4, 3, 2, 1]
    assert await found(until=parse_moment("2026-12-03T00:00:00+08:00")) == [1, 0]
    assert await found(actor="admin") == [4, 1, 0]
    assert await found(action="handle.delete") == [4, 2]
    assert await found(target="88.118.1") == [4, 2, 1, 0]
    assert await found(target="88.118.1/") == [4, 2]
    assert await found(target="88.118.1/X") == [2]  # a suffix's case matters
    assert await found(actor="admin", target="88.118.1/") == [4]


async def test_find_pages_newest_first(node: Node) -> None:
    await _seed(node)
    first = await node.audit.find(limit=2)
    assert [e.summary["n"] for e in first.entries] == [4, 3]
    second = await node.audit.find(limit=2, before=first.next)
    assert [e.summary["n"] for e in second.entries] == [2, 1]
    last = await node.audit.find(limit=2, before=second.next)
    assert [e.summary["n"] for e in last.entries] == [0]
    assert last.next is None


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"limit": 0}, "limit must be from 1 to 1000"),
        ({"limit": 1001}, "limit must be from 1 to 1000"),
        ({"before": 0}, "before must be an entry id"),
        ({"before": 2**63}, "before must be an entry id"),
        ({"target": "88.118.8\x00"}, "target must not contain the NUL character"),
        ({"actor": "\x00"}, "actor must not contain the NUL character"),
        (
            {"since": parse_moment("2026-12-02"), "until": parse_moment("2026-12-01")},
            "since must be earlier than until",
        ),
    ],
)
async def test_find_refuses_bad_filters(node: Node, filters: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        await node.audit.find(**filters)


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "", "12:00"])
def test_parse_moment_names_the_expected_form(bad: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        parse_moment(bad)


def test_parse_moment_reads_zones_and_dates_as_utc() -> None:
    assert parse_moment("2026-12-04") == datetime(2026, 12, 4, tzinfo=UTC)
    assert parse_moment("2026-12-04T08:00:00+08:00") == datetime(2026, 12, 4, tzinfo=UTC)
    assert parse_moment("2026-12-04T00:00:00Z") == datetime(2026, 12, 4, tzinfo=UTC)
