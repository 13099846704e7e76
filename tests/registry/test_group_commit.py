"""Group commit on SQLite and PostgreSQL: concurrent writers share one COMMIT, fail alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import event, select, text

from registry import (
    ADMIN,
    BatchService,
    Handle,
    HandleAlreadyExists,
    HandleValue,
    QuotaExceeded,
    RecordDraft,
    RecordService,
    RecordWriter,
    TemplateService,
    Unavailable,
)
from registry.storage import Database
from registry.storage.models import OutboxRow, RecordRow

from ..servers import NodeProcess
from .single_writes import quota_node

URL = HandleValue(1, "URL", "string", "https://example.com/")
ADMIN_TOKEN = "group-commit-admin-token"


def _handle(n: int, prefix: str = "88.118.8") -> Handle:
    return Handle.parse(f"{prefix}/G{n}")


class Heard:
    """A listener: each call's handles, and which members had returned when it was told."""

    def __init__(self, returned: list[str]) -> None:
        self.returned = returned
        self.calls: list[list[str]] = []
        self.returned_then: list[list[str]] = []

    async def __call__(self, handles: Sequence[str]) -> None:
        self.calls.append(list(handles))
        self.returned_then.append(list(self.returned))


@contextmanager
def _commits(db: Database) -> Iterator[list[int]]:
    """Count the COMMITs on ``db``'s engine while the block runs."""
    seen: list[int] = []

    def on_commit(_connection: Any) -> None:
        seen.append(1)

    event.listen(db.write_engine.sync_engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(db.write_engine.sync_engine, "commit", on_commit)


async def _records(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.execute(select(RecordRow.handle))).scalars())


async def _outboxed(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.execute(select(OutboxRow.subject))).scalars())


async def _put(writer: RecordWriter, handle: Handle, returned: list[str]) -> None:
    async with writer.transaction() as tx:
        await tx.put(handle, [URL], None, new=True)
    returned.append(str(handle))


async def test_concurrent_writers_share_one_commit_and_all_land(db: Database) -> None:
    writer, returned = RecordWriter(db), []
    heard = Heard(returned)
    writer.add_listener(heard)
    handles = [_handle(n) for n in range(12)]
    with _commits(db) as commits:
        await asyncio.gather(*(_put(writer, handle, returned) for handle in handles))
    assert len(commits) == 1
    keys = {str(handle) for handle in handles}
    assert await _records(db) == keys
    assert await _outboxed(db) == keys
    assert [set(call) for call in heard.calls] == [keys]


async def test_a_batch_takes_at_most_its_bound_of_members(db: Database) -> None:
    writer = RecordWriter(db)
    writer._group.max_members = 4
    with _commits(db) as commits:
        await asyncio.gather(*(_put(writer, _handle(n), []) for n in range(10)))
    assert len(commits) == 3
    assert len(await _records(db)) == 10


async def test_a_lone_writer_commits_at_once(db: Database) -> None:
    writer = RecordWriter(db)
    with _commits(db) as commits:
        await asyncio.wait_for(_put(writer, _handle(1), []), 10)
    assert len(commits) == 1


async def test_the_listener_is_told_before_any_member_returns(db: Database) -> None:
    writer, returned = RecordWriter(db), []
    heard = Heard(returned)
    writer.add_listener(heard)
    await asyncio.gather(*(_put(writer, _handle(n), returned) for n in range(6)))
    assert heard.returned_then == [[]]
    assert len(returned) == 6


async def test_a_bulk_write_keeps_a_transaction_of_its_own(db: Database) -> None:
    records, returned = RecordService(db), []
    heard = Heard(returned)
    records.writer.add_listener(heard)
    batches = BatchService(db, records, TemplateService(db))
    drafts = [RecordDraft(Handle.parse(f"88.118.8/B{n}"), (URL,)) for n in range(3)]
    with _commits(db) as commits:
        results, *_ = await asyncio.gather(
            batches.create_many(ADMIN, drafts),
            *(_put(records.writer, _handle(n), returned) for n in range(3)),
        )
    assert results == [None] * 3
    assert len(commits) == 2
    assert sorted(sorted(call) for call in heard.calls) == [
        [str(draft.handle) for draft in drafts],
        [str(_handle(n)) for n in range(3)],
    ]


async def test_single_registrations_share_a_commit_with_their_neighbours(db: Database) -> None:
    """One-record ``create_many`` (a single SNMS registration), plain or checked against its
    remembered template, joins the batch; only a batch of several runs alone."""
    records = RecordService(db)
    batches = BatchService(db, records, TemplateService(db))
    item = {
        "name": "productName", "idType": "productName", "idIndex": 2000, "required": True,
        "state": 1, "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
    }  # fmt: skip
    template = {"prefix": "88.118.8", "version": "1.0", "type": 1, "items": [item]}
    await batches.templates.create(ADMIN, template)
    name = HandleValue(2000, "productName", "string", "pump")
    # The first templated registration reads the template; later ones check it in the insert.
    assert await batches.create_many(ADMIN, [RecordDraft(_handle(100), (name,), "1.0")]) == [None]
    plain = [RecordDraft(_handle(n), (URL,)) for n in range(4)]
    templated = [RecordDraft(_handle(n), (name,), "1.0") for n in range(4, 8)]
    with _commits(db) as commits:
        results = await asyncio.gather(
            *(batches.create_many(ADMIN, [draft]) for draft in plain + templated),
            *(_put(records.writer, _handle(n), []) for n in range(8, 12)),
        )
    assert results[:8] == [[None]] * 8
    assert len(commits) == 1
    keys = {str(_handle(n)) for n in [*range(12), 100]}
    assert await _records(db) == keys
    assert await _outboxed(db) == keys


async def test_a_failing_member_fails_only_its_caller(db: Database) -> None:
    records, quotas, acme = await quota_node(db)
    # 88.118.9 (Acme) may hold one identifier more: the second of its members is refused.
    held = (await quotas.usage(acme))["identifiers"]
    await quotas.set(acme, {"identifiers": held + 1})
    writer, returned = records.writer, []
    heard = Heard(returned)
    writer.add_listener(heard)
    await _put(writer, _handle(0), returned)  # taken before the batch
    heard.calls.clear()
    stored_before, outboxed_before = await _records(db), await _outboxed(db)

    async def raises() -> None:
        async with writer.transaction() as tx:
            await tx.put(_handle(90), [URL], None, new=True)
            raise RuntimeError("the caller's own failure")

    outcomes = await asyncio.gather(
        _put(writer, _handle(1), returned),
        _put(writer, _handle(0), returned),  # duplicate
        _put(writer, _handle(1, "88.118.9"), returned),  # within Acme's quota
        raises(),
        _put(writer, _handle(2, "88.118.9"), returned),  # over Acme's quota
        _put(writer, _handle(2), returned),
        return_exceptions=True,
    )
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "NoneType",
        HandleAlreadyExists.__name__,
        "NoneType",
        "RuntimeError",
        QuotaExceeded.__name__,
        "NoneType",
    ]
    landed = {"88.118.8/G1", "88.118.9/G1", "88.118.8/G2"}
    assert await _records(db) == stored_before | landed
    assert await _outboxed(db) == outboxed_before | landed
    assert [set(call) for call in heard.calls] == [landed]
    assert (await quotas.usage(acme))["identifiers"] == held + 1


async def test_a_quota_stays_exact_across_batches(db: Database) -> None:
    records, quotas, acme = await quota_node(db)
    held = (await quotas.usage(acme))["identifiers"]
    await quotas.set(acme, {"identifiers": held + 5})
    records.writer._group.max_members = 4  # three batches, committing while the next takes turns
    outcomes = await asyncio.gather(
        *(_put(records.writer, _handle(n, "88.118.9"), []) for n in range(12)),
        return_exceptions=True,
    )
    assert outcomes.count(None) == 5
    assert all(isinstance(o, QuotaExceeded) for o in outcomes if o is not None)
    assert (await quotas.usage(acme))["identifiers"] == held + 5


async def test_a_failing_first_member_leaves_the_others_a_transaction_of_their_own(
    db: Database,
) -> None:
    writer, returned = RecordWriter(db), []
    heard = Heard(returned)
    writer.add_listener(heard)
    await _put(writer, _handle(0), returned)
    heard.calls.clear()
    with _commits(db) as commits:
        outcomes = await asyncio.gather(
            _put(writer, _handle(0), returned),  # first, and a duplicate: no savepoint to keep
            *(_put(writer, _handle(n), returned) for n in range(1, 5)),
            return_exceptions=True,
        )
    assert isinstance(outcomes[0], HandleAlreadyExists) and outcomes[1:] == [None] * 4
    assert len(commits) == 1
    assert await _records(db) == {str(_handle(n)) for n in range(5)}
    assert await _outboxed(db) == {str(_handle(n)) for n in range(5)}
    assert [set(call) for call in heard.calls] == [{str(_handle(n)) for n in range(1, 5)}]


async def test_a_failing_commit_fails_every_member_and_writes_nothing(db: Database) -> None:
    writer, returned = RecordWriter(db), []
    heard = Heard(returned)
    writer.add_listener(heard)

    def refuse(_connection: Any) -> None:
        raise RuntimeError("COMMIT failed")

    event.listen(db.write_engine.sync_engine, "commit", refuse)
    try:
        outcomes = await asyncio.gather(
            *(_put(writer, _handle(n), returned) for n in range(5)), return_exceptions=True
        )
    finally:
        event.remove(db.write_engine.sync_engine, "commit", refuse)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert returned == [] and heard.calls == []
    assert await _records(db) == set() and await _outboxed(db) == set()
    await _put(writer, _handle(9), returned)  # the writer carries on
    assert await _records(db) == {"88.118.8/G9"}


async def test_a_member_cancelled_in_its_block_rolls_back_alone(db: Database) -> None:
    writer, returned = RecordWriter(db), []
    first_may_end, inside = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with writer.transaction() as tx:
            await tx.put(_handle(10), [URL], None, new=True)
            await first_may_end.wait()

    async def stalls() -> None:
        async with writer.transaction() as tx:
            await tx.put(_handle(50), [URL], None, new=True)
            inside.set()
            await asyncio.Event().wait()

    tasks = [asyncio.create_task(first()), stalled := asyncio.create_task(stalls())]
    tasks += [asyncio.create_task(_put(writer, _handle(n), returned)) for n in range(3)]
    await asyncio.sleep(0)
    first_may_end.set()
    await inside.wait()
    stalled.cancel()
    with _commits(db) as commits:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert outcomes[:1] + outcomes[2:] == [None] * 4
    assert len(commits) == 1
    landed = {str(_handle(n)) for n in (10, 0, 1, 2)}
    assert await _records(db) == landed
    assert await _outboxed(db) == landed


# A statement that can be cancelled midway: pg_sleep.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_statement_cancelled_midway_loses_the_batch_but_acknowledges_nothing(
    db: Database,
) -> None:
    writer, returned = RecordWriter(db), []
    sleeping = asyncio.Event()

    async def sleeps() -> None:
        async with writer.transaction() as tx:
            sleeping.set()
            await tx.session.execute(text("SELECT pg_sleep(5)"))

    first = asyncio.create_task(_put(writer, _handle(1), returned))
    stalled = asyncio.create_task(sleeps())
    await sleeping.wait()
    queued = asyncio.create_task(_put(writer, _handle(2), returned))
    await asyncio.sleep(0.05)
    stalled.cancel()
    with pytest.raises(Unavailable):
        await first
    await queued  # moved to a new batch, committed there
    with pytest.raises(asyncio.CancelledError):
        await stalled
    assert returned == ["88.118.8/G2"]
    assert await _records(db) == {"88.118.8/G2"}


def _failpoint_handles(log: Path) -> list[str]:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("failpoint: committed"):
            return line.split()[2:]
    raise AssertionError(f"the failpoint never fired; see {log}")


async def test_a_crash_between_commit_and_answers_loses_nothing_acknowledged(
    migrated_url: str, tmp_path: Path
) -> None:
    env = {"IDNODE_DATABASE_URL": migrated_url, "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN}
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    log = tmp_path / "node.log"
    acknowledged: list[str] = []
    # Commit 1 creates the enterprise; the node dies right after its 12th.
    crashing = NodeProcess({**env, "IDNODE_FAILPOINT": "exit-after-commit:12"}, log=log)
    with crashing:
        async with httpx.AsyncClient(base_url=crashing.url, timeout=10) as client:
            created = await client.post(
                "/admin/enterprises", json={"name": "Crash", "prefix": "88.118.7"}, headers=headers
            )
            assert created.status_code == 201, created.text

            async def station(number: int) -> None:
                for n in range(1000):
                    handle = f"88.118.7/S{number}-{n}"
                    body = {"values": [{"index": 1, "type": "URL", "data": "https://e.org/"}]}
                    try:
                        response = await client.put(
                            f"/api/handles/{quote(handle, safe='/')}", json=body, headers=headers
                        )
                    except httpx.TransportError:
                        return  # the node died
                    assert response.status_code in (200, 201), response.text
                    acknowledged.append(handle)

            await asyncio.gather(*(station(number) for number in range(8)))
        assert crashing.process is not None and crashing.process.wait(10) == 70
    crashed = _failpoint_handles(log)
    assert crashed and not set(crashed) & set(acknowledged)
    # The node starts again on the same database; everything acknowledged or committed is there.
    with NodeProcess(env, log=log) as restarted:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as client:
            for handle in [*acknowledged[:5], *acknowledged[-5:], *crashed]:
                response = await client.get(f"/api/handles/{quote(handle, safe='/')}")
                assert response.status_code == 200, (handle, response.text)
    db = Database(migrated_url)
    try:
        stored, outboxed = await _records(db), await _outboxed(db)
    finally:
        await db.dispose()
    assert set(acknowledged) | set(crashed) <= stored
    assert set(acknowledged) | set(crashed) <= outboxed
