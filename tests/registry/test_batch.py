"""Batches on SQLite and PostgreSQL: sealed, with an outbox row per item, announced after commit."""

from __future__ import annotations

import orjson
from sqlalchemy import delete, select, update

from registry import (
    ADMIN,
    BatchService,
    EntityNotFound,
    Handle,
    HandleAlreadyExists,
    HandleNotFound,
    HandleValue,
    InvalidValue,
    Principal,
    RecordDraft,
    RecordService,
    Role,
    TemplateService,
)
from registry.storage import Database, SyncStore
from registry.storage.models import OutboxRow, RecordRow, TemplateRow

URL = HandleValue(1, "URL", "string", "https://example.com")


def _service(db: Database) -> tuple[BatchService, RecordService, list]:
    records = RecordService(db)
    announced: list = []

    async def listener(handles):
        announced.append(list(handles))

    records.writer.add_listener(listener)
    records.writer.set_sealer(_sign)
    return BatchService(db, records, TemplateService(db)), records, announced


def _sign(handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
    """A stand-in signature: the values and an ``HS_SIGNATURE`` naming the handle."""
    return [*values, HandleValue(400, "HS_SIGNATURE", "string", f"sig:{handle}")]


async def _outbox(db: Database) -> list[tuple[str, str, dict]]:
    async with db.read() as session:
        rows = (await session.execute(select(OutboxRow).order_by(OutboxRow.seq))).scalars()
        return [(row.kind, row.subject, orjson.loads(row.payload)) for row in rows]


async def test_create_many_seals_writes_the_outbox_and_announces(db: Database) -> None:
    batches, records, announced = _service(db)
    drafts = [RecordDraft(Handle.parse(f"88.118.8/N{n}"), (URL,)) for n in range(3)]
    first = await batches.create_many(ADMIN, drafts[:1])
    assert first == [None]
    results = await batches.create_many(ADMIN, drafts)
    assert results[1:] == [None, None]
    assert isinstance(results[0], HandleAlreadyExists)
    assert announced == [["88.118.8/N0"], ["88.118.8/N1", "88.118.8/N2"]]

    record = await records.get(Handle.parse("88.118.8/N2"))
    assert [v.type for v in record.values] == ["URL", "HS_SIGNATURE"]
    assert record.values[0].timestamp is not None
    outbox = await _outbox(db)
    assert [(kind, subject) for kind, subject, _ in outbox] == [
        ("handle.upsert", "88.118.8/N0"),
        ("handle.upsert", "88.118.8/N1"),
        ("handle.upsert", "88.118.8/N2"),
    ]
    # The values are stored once, in the record; they join the change when it ships.
    assert outbox[2][2] == {"handle": "88.118.8/N2"}
    batch = await SyncStore(db).next_batch(10)
    assert batch is not None
    shipped = orjson.loads(batch.body())["changes"][2]["payload"]
    assert shipped["values"][1]["data"]["value"] == "sig:88.118.8/N2"


async def test_update_and_delete_many_report_missing_handles(db: Database) -> None:
    batches, records, announced = _service(db)
    await batches.create_many(ADMIN, [RecordDraft(Handle.parse("88.118.8/U"), (URL,))])
    new = HandleValue(2, "EMAIL", "string", "a@example.com")
    results = await batches.update_many(
        ADMIN,
        [
            RecordDraft(Handle.parse("88.118.8/U"), (new,)),
            RecordDraft(Handle.parse("88.118.8/V"), (new,)),
        ],
    )
    assert results[0] is None and isinstance(results[1], HandleNotFound)
    assert [v.index for v in (await records.get(Handle.parse("88.118.8/U"))).values] == [2, 400]

    deleted = await batches.delete_many(
        ADMIN, [Handle.parse("88.118.8/U"), Handle.parse("88.118.8/V")]
    )
    assert deleted[0] is None and isinstance(deleted[1], HandleNotFound)
    assert await records.get(Handle.parse("88.118.8/U")) is None
    assert announced[-1] == ["88.118.8/U"]
    kinds = [(kind, subject) for kind, subject, _ in await _outbox(db)]
    assert kinds[-2:] == [("handle.upsert", "88.118.8/U"), ("handle.delete", "88.118.8/U")]


async def test_a_failing_item_leaves_no_row_and_no_outbox_entry(db: Database) -> None:
    batches, records, _ = _service(db)

    def refuse_one(handle: Handle, values: list) -> list:
        if handle.suffix == "BAD":
            raise InvalidValue("cannot seal this one", handle=str(handle))
        return values

    records.writer.set_sealer(refuse_one)
    results = await batches.create_many(
        ADMIN,
        [
            RecordDraft(Handle.parse("88.118.8/BAD"), (URL,)),
            RecordDraft(Handle.parse("88.118.8/OK"), (URL,)),
        ],
    )
    assert results[0].message == "cannot seal this one" and results[1] is None
    async with db.read() as session:
        handles = set((await session.execute(select(RecordRow.handle))).scalars())
    assert "88.118.8/BAD" not in handles and "88.118.8/OK" in handles
    assert [subject for _, subject, _ in await _outbox(db)] == ["88.118.8/OK"]


async def test_prefix_of_an_item_is_checked_per_item(db: Database) -> None:
    batches, _, _ = _service(db)
    acme = Principal(Role.ENTERPRISE, "300:88.118.8/ADMIN", 1, frozenset({"88.118.8"}))
    results = await batches.create_many(
        acme,
        [
            RecordDraft(Handle.parse("88.118.9/X"), (URL,)),
            RecordDraft(Handle.parse("88.118.8/ADMIN"), (URL,)),
            RecordDraft(Handle.parse("88.118.8/X"), (URL,)),
        ],
    )
    assert "may not write under prefix 88.118.9" in results[0].message
    assert "credentials" in results[1].message
    assert results[2] is None


def _template(description: str) -> dict:
    item = {
        "name": "productName", "idType": "productName", "idIndex": 2000, "required": True,
        "state": 1, "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
    }  # fmt: skip
    return {"prefix": "88.1", "version": "1.0", "description": description, "type": 1,
            "items": [item]}  # fmt: skip


async def test_a_template_read_outside_a_write_sees_the_latest_commit(db: Database) -> None:
    templates = TemplateService(db)
    prefix = Handle.parse("88.1/x").prefix
    assert await templates.load(prefix, "1.0") is None
    await templates.create(ADMIN, _template("first"))
    loaded = await templates.load(prefix, "1.0")
    assert loaded is not None and loaded.description == "first"
    await templates.update(ADMIN, _template("second"))
    loaded = await templates.load(prefix, "1.0")
    assert loaded is not None and loaded.description == "second"
    async with db.read() as session:
        inside = await templates.load(prefix, "1.0", session)
    assert inside == loaded
    assert await templates.load(prefix, "2.0") is None


async def test_a_template_is_parsed_once_per_stored_text_and_changes_are_seen(
    db: Database,
) -> None:
    templates = TemplateService(db)
    prefix = Handle.parse("88.1/x").prefix
    await templates.create(ADMIN, _template("first"))
    first = await templates.load(prefix, "1.0")
    # The same stored text: the parse (and its compiled schema) is reused.
    assert await templates.load(prefix, "1.0") is first
    # Changed as another process would change it: straight in the table, no service told.
    changed = orjson.dumps({**first.to_json(), "description": "elsewhere"}).decode()
    async with db.write() as session:
        await session.execute(update(TemplateRow).values(body=changed))
    loaded = await templates.load(prefix, "1.0")
    assert loaded is not None and loaded.description == "elsewhere"
    async with db.read() as session:
        assert await templates.load(prefix, "1.0", session) is loaded
    # A registration with the template checks against the changed one.
    batches, _, _ = _service(db)
    value = HandleValue(2000, "productName", "string", "x" * 10)
    draft = RecordDraft(Handle.parse("88.1/T1"), (value,), "1.0")
    assert await batches.create_many(ADMIN, [draft]) == [None]
    tighter = orjson.loads(changed)
    tighter["items"][0]["metadata"]["maxLength"] = 5
    async with db.write() as session:
        await session.execute(update(TemplateRow).values(body=orjson.dumps(tighter).decode()))
    draft = RecordDraft(Handle.parse("88.1/T2"), (value,), "1.0")
    (refused,) = await batches.create_many(ADMIN, [draft])
    assert isinstance(refused, InvalidValue)


async def test_a_single_registration_checks_the_remembered_template_in_its_insert(
    db: Database,
) -> None:
    batches, records, announced = _service(db)
    reads: list[object] = []
    lookup = db.lookup

    async def counted(read):  # a spy on the template reads; the reads still happen
        reads.append(read)
        return await lookup(read)

    db.lookup = counted  # type: ignore[method-assign]
    await batches.templates.create(ADMIN, _template("first"))
    value = HandleValue(2000, "productName", "string", "x" * 10)

    def draft(name: str) -> RecordDraft:
        return RecordDraft(Handle.parse(f"88.1/{name}"), (value,), "1.0")

    assert await batches.create_many(ADMIN, [draft("A")]) == [None]
    assert len(reads) == 1
    # The template as read then: no read, the insert checks the text is unchanged.
    assert await batches.create_many(ADMIN, [draft("B")]) == [None]
    assert len(reads) == 1
    first, second = [await records.get(Handle.parse(f"88.1/{n}")) for n in "AB"]
    assert [(v.index, v.type) for v in second.values] == [(v.index, v.type) for v in first.values]
    assert {v.index for v in second.values} == {400, 1001, 2000}
    assert announced[-1] == ["88.1/B"]
    assert [subject for _, subject, _ in await _outbox(db)] == ["88.1/A", "88.1/B"]

    # A handle that exists (a registration retried): refused, nothing written, and told as
    # before, signed once, and the template as remembered kept: the next one reads it no more.
    sealed: list[str] = []
    records.writer.set_sealer(
        lambda handle, values: sealed.append(str(handle)) or _sign(handle, values)
    )
    (refused,) = await batches.create_many(ADMIN, [draft("B")])
    assert isinstance(refused, HandleAlreadyExists)
    assert str(refused) == "handle 88.1/B already exists"
    assert sealed == ["88.1/B"]
    assert len(await _outbox(db)) == 2
    assert batches.templates.remembered(Handle.parse("88.1/B").prefix, "1.0") is not None
    before = len(reads)
    assert await batches.create_many(ADMIN, [draft("B2")]) == [None]
    assert len(reads) == before
    assert [subject for _, subject, _ in await _outbox(db)] == ["88.1/A", "88.1/B", "88.1/B2"]

    # Tightened elsewhere (straight in the table): the insert sees the change, the write is
    # checked again against the stored template and refused.
    tighter = _template("first")
    tighter["items"][0]["metadata"]["maxLength"] = 5
    async with db.write() as session:
        await session.execute(update(TemplateRow).values(body=orjson.dumps(tighter).decode()))
    (refused,) = await batches.create_many(ADMIN, [draft("C")])
    assert isinstance(refused, InvalidValue)
    assert await records.get(Handle.parse("88.1/C")) is None
    # Loosened elsewhere: a value the remembered template refuses is checked afresh, accepted.
    async with db.write() as session:
        await session.execute(
            update(TemplateRow).values(body=orjson.dumps(_template("loose")).decode())
        )
    assert await batches.create_many(ADMIN, [draft("D")]) == [None]
    # Deleted elsewhere: refused, nothing written.
    async with db.write() as session:
        await session.execute(delete(TemplateRow))
    (refused,) = await batches.create_many(ADMIN, [draft("E")])
    assert isinstance(refused, EntityNotFound)
    assert await records.get(Handle.parse("88.1/E")) is None
    assert [subject for _, subject, _ in await _outbox(db)] == [
        "88.1/A",
        "88.1/B",
        "88.1/B2",
        "88.1/D",
    ]
