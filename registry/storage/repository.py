"""All SQL of the registry: small repositories over one session each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, exists, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .models import (
    CredentialRow,
    EnterpriseRow,
    OutboxRow,
    PrefixRow,
    QuotaRow,
    RecordRow,
    TemplateRow,
    TokenRow,
)

__all__ = ["Credentials", "Enterprises", "Outbox", "Records"]


# Built once: the resolution read runs for every cache miss, and building the expression
# (and its cache key) per call was a measurable share of the miss path.
_VALUES_OF = select(RecordRow.values).where(RecordRow.handle == bindparam("handle"))
_VALUES_OF_MANY = select(RecordRow.handle, RecordRow.values).where(
    RecordRow.handle.in_(bindparam("handles", expanding=True))
)

_RECORD_PARAMS = {
    "handle": bindparam("handle"),
    "prefix": bindparam("prefix"),
    "values": bindparam("values"),
    "template_version": bindparam("template_version"),
    "created_at": bindparam("now", type_=RecordRow.__table__.c.created_at.type),
    "updated_at": bindparam("now", type_=RecordRow.__table__.c.updated_at.type),
}
# Whether a quota row may apply to the prefix's enterprise (the quota check's own join).
_QUOTA_APPLIES = exists(
    select(QuotaRow.enterprise_id)
    .join(PrefixRow, PrefixRow.enterprise_id == QuotaRow.enterprise_id)
    .where(PrefixRow.prefix == bindparam("prefix"))
)

# The same probe in SQLite's RETURNING, of the row inserted (written out: SQLAlchemy drops the
# table names of columns in a RETURNING clause, which makes the join's columns ambiguous).
_QUOTA_APPLIES_SQLITE = literal_column(
    "EXISTS (SELECT 1 FROM quotas AS q JOIN prefixes AS p ON p.enterprise_id = q.enterprise_id"
    " WHERE p.prefix = records.prefix)"
).label("quota")


# A record registered against a template goes in only while the template's stored text is still
# the one its values were checked against (``insert_new``'s ``template_body``).
_TEMPLATE_UNCHANGED = exists(
    select(TemplateRow.id).where(
        TemplateRow.prefix == bindparam("prefix"),
        TemplateRow.version == bindparam("template_version"),
        TemplateRow.body == bindparam("template_body", type_=TemplateRow.__table__.c.body.type),
    )
)


def _new_record_statements(guarded: bool) -> tuple[Any, Any, Any]:
    """One record inserted if its handle is free: SQLite's statement, and PostgreSQL's with
    and without its outbox row. Built once (statement building and cache keys cost per call).

    ``guarded``: only while the template is unchanged (``_TEMPLATE_UNCHANGED``).
    """
    table, outbox = RecordRow.__table__, OutboxRow.__table__

    def record(statement: Any) -> Any:
        if not guarded:
            return statement.values(_RECORD_PARAMS)
        guarded_row = select(*(param for param in _RECORD_PARAMS.values())).where(
            _TEMPLATE_UNCHANGED
        )
        return statement.from_select(list(_RECORD_PARAMS), guarded_row)

    # SQLite runs one writer at a time (BEGIN IMMEDIATE): the probe cannot race a quota change.
    on_sqlite = (
        record(sqlite.insert(table))
        .on_conflict_do_nothing(index_elements=[table.c.handle])
        .returning(table.c.handle, _QUOTA_APPLIES_SQLITE)
    )
    inserted = (
        record(postgresql.insert(table))
        .on_conflict_do_nothing(index_elements=[table.c.handle])
        .returning(table.c.handle)
        .cte("inserted")
    )
    # Data-modifying CTEs run once, in the statement's transaction: the outbox row exists
    # exactly when the record row went in.
    shipped = (
        insert(outbox)
        .from_select(
            ["kind", "subject", "payload", "created_at"],
            select(
                bindparam("kind", type_=outbox.c.kind.type),
                inserted.c.handle,
                bindparam("payload", type_=outbox.c.payload.type),
                bindparam("now", type_=outbox.c.created_at.type),
            ),
        )
        .returning(outbox.c.seq)
        .cte("shipped")
    )
    quota = _QUOTA_APPLIES.label("quota")
    with_outbox = select(
        select(func.count()).select_from(shipped).scalar_subquery().label("inserted"), quota
    )
    without_outbox = select(
        select(func.count()).select_from(inserted).scalar_subquery().label("inserted"), quota
    )
    return on_sqlite, with_outbox, without_outbox


_INSERT_NEW_SQLITE, _INSERT_NEW_SHIPPED_PG, _INSERT_NEW_PG = _new_record_statements(False)
_GUARDED_SQLITE, _GUARDED_SHIPPED_PG, _GUARDED_PG = _new_record_statements(True)
_OUTBOX_ONE = insert(OutboxRow.__table__)


class Records:
    """Rows of ``records``: one row per handle, its values as JSON text."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def get(self, handle: str, *, for_update: bool = False) -> RecordRow | None:
        statement = select(RecordRow).where(RecordRow.handle == handle)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_values_text(self, handle: str) -> str | None:
        """Only the JSON text of a record's values: the resolution read."""
        result = await self.session.execute(_VALUES_OF, {"handle": handle})
        return result.scalar_one_or_none()

    async def get_values_texts(self, handles: Sequence[str]) -> dict[str, str]:
        """The JSON text of the values of each of ``handles`` that exists: one statement."""
        result = await self.session.execute(_VALUES_OF_MANY, {"handles": list(handles)})
        return {handle: values for handle, values in result.all()}

    async def existing(self, handles: Sequence[str]) -> set[str]:
        statement = select(RecordRow.handle).where(RecordRow.handle.in_(handles))
        return set((await self.session.execute(statement)).scalars())

    async def insert(
        self, handle: str, prefix: str, values: str, now: datetime, template_version: str | None
    ) -> None:
        self.session.add(
            RecordRow(
                handle=handle,
                prefix=prefix,
                values=values,
                template_version=template_version,
                created_at=now,
                updated_at=now,
            )
        )
        await self.session.flush()

    async def insert_new(
        self,
        handle: str,
        prefix: str,
        values: str,
        now: datetime,
        template_version: str | None,
        change: tuple[str, str] | None = None,
        template_body: str | None = None,
    ) -> tuple[bool, bool]:
        """Insert a record unless its handle exists, with its outbox row ``change`` (kind,
        payload text) when given: ``(inserted, a quota may apply to the prefix's owner)``.

        On PostgreSQL one statement does all three (on SQLite the outbox row is a second); a
        handle that exists writes nothing and raises nothing (``ON CONFLICT DO NOTHING``), so
        the transaction stays usable. ``template_body``: insert only while the template
        ``template_version`` of ``prefix`` is stored as exactly this text; otherwise, too,
        nothing is written (the caller cannot tell which, and checks again).
        """
        params: dict[str, Any] = {
            "handle": handle,
            "prefix": prefix,
            "values": values,
            "template_version": template_version,
            "now": now,
        }
        guarded = template_body is not None
        if guarded:
            params["template_body"] = template_body
        if self.session.bind.dialect.name == "postgresql":
            if change is not None:
                params["kind"], params["payload"] = change
            if change is None:
                statement = _GUARDED_PG if guarded else _INSERT_NEW_PG
            else:
                statement = _GUARDED_SHIPPED_PG if guarded else _INSERT_NEW_SHIPPED_PG
            row = (await self.session.execute(statement, params)).one()
            return bool(row[0]), bool(row[1])
        statement = _GUARDED_SQLITE if guarded else _INSERT_NEW_SQLITE
        inserted = (await self.session.execute(statement, params)).one_or_none()
        if inserted is None:
            return False, False
        if change is not None:
            kind, payload = change
            await self.session.execute(
                _OUTBOX_ONE,
                {"kind": kind, "subject": handle, "payload": payload, "created_at": now},
            )
        return True, bool(inserted[1])

    async def update(
        self, handle: str, values: str, now: datetime, template_version: str | None
    ) -> None:
        await self.session.execute(
            update(RecordRow)
            .where(RecordRow.handle == handle)
            .values(values=values, updated_at=now, template_version=template_version)
        )

    async def delete(self, handle: str) -> bool:
        result = await self.session.execute(delete(RecordRow).where(RecordRow.handle == handle))
        return result.rowcount > 0

    async def page(self, prefix: str, offset: int, limit: int) -> tuple[int, list[str]]:
        total = await self.session.scalar(
            select(func.count()).select_from(RecordRow).where(RecordRow.prefix == prefix)
        )
        statement = (
            select(RecordRow.handle)
            .where(RecordRow.prefix == prefix)
            .order_by(RecordRow.handle)
            .offset(offset)
            .limit(limit)
        )
        return int(total or 0), list((await self.session.execute(statement)).scalars())


class Outbox:
    """Changes bound for the top-level node, appended in the transaction that makes them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, kind: str, subject: str, payload: Any, now: datetime) -> None:
        await self.append_many([(kind, subject, payload)], now)

    async def append_many(self, changes: Iterable[tuple[str, str, Any]], now: datetime) -> None:
        rows = [
            {
                "kind": kind,
                "subject": subject,
                "payload": orjson.dumps(payload).decode(),
                "created_at": now,
            }
            for kind, subject, payload in changes
        ]
        if rows:
            # Core, not the ORM's bulk path (which costs more per row than the row's write).
            await self.session.execute(insert(OutboxRow.__table__), rows)


class Enterprises:
    """Enterprises and the prefixes allocated to them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str, now: datetime) -> EnterpriseRow:
        row = EnterpriseRow(name=name, created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, enterprise_id: int) -> EnterpriseRow | None:
        return await self.session.get(EnterpriseRow, enterprise_id)

    async def all(self) -> list[EnterpriseRow]:
        return list(
            (await self.session.execute(select(EnterpriseRow).order_by(EnterpriseRow.id))).scalars()
        )

    async def prefix(self, prefix: str) -> PrefixRow | None:
        return await self.session.get(PrefixRow, prefix)

    async def add_prefix(self, prefix: str, enterprise_id: int, now: datetime) -> None:
        self.session.add(PrefixRow(prefix=prefix, enterprise_id=enterprise_id, created_at=now))
        await self.session.flush()

    async def prefixes_of(self, enterprise_id: int) -> list[str]:
        statement = (
            select(PrefixRow.prefix)
            .where(PrefixRow.enterprise_id == enterprise_id)
            .order_by(PrefixRow.prefix)
        )
        return list((await self.session.execute(statement)).scalars())

    async def all_prefixes(self) -> dict[int, list[str]]:
        rows = await self.session.execute(
            select(PrefixRow.enterprise_id, PrefixRow.prefix).order_by(PrefixRow.prefix)
        )
        grouped: dict[int, list[str]] = {}
        for enterprise_id, prefix in rows:
            grouped.setdefault(enterprise_id, []).append(prefix)
        return grouped

    async def prefixes_like(self, parent: str) -> list[str]:
        """Every allocated prefix directly or indirectly under ``parent``."""
        statement = select(PrefixRow.prefix).where(
            PrefixRow.prefix.startswith(parent + ".", autoescape=True)
        )
        return list((await self.session.execute(statement)).scalars())


class Credentials:
    """Credentials (hashed secrets) and the bearer tokens issued for them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        enterprise_id: int,
        username: str,
        secret_hash: str,
        now: datetime,
        cipher_verifier: str | None = None,
        native_secret: str | None = None,
    ) -> CredentialRow:
        row = CredentialRow(
            enterprise_id=enterprise_id, username=username, secret_hash=secret_hash, created_at=now
        )
        row.cipher_verifier = cipher_verifier
        row.native_secret = native_secret
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_username(self, username: str) -> CredentialRow | None:
        statement = select(CredentialRow).where(CredentialRow.username == username)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def indexes_under(self, handle: str) -> set[int]:
        """The index of every credential ever issued under ``handle``, revoked ones included."""
        statement = select(CredentialRow.username).where(
            CredentialRow.username.endswith(f":{handle}", autoescape=True)
        )
        usernames = (await self.session.execute(statement)).scalars()
        return {int(name.partition(":")[0]) for name in usernames}

    async def of_enterprise(self, enterprise_id: int) -> list[CredentialRow]:
        statement = (
            select(CredentialRow)
            .where(CredentialRow.enterprise_id == enterprise_id)
            .order_by(CredentialRow.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def revoke(self, credential_id: int, now: datetime) -> None:
        await self.session.execute(
            update(CredentialRow).where(CredentialRow.id == credential_id).values(revoked_at=now)
        )
        await self.session.execute(delete(TokenRow).where(TokenRow.credential_id == credential_id))

    async def set_secret(
        self,
        credential_id: int,
        secret_hash: str,
        cipher_verifier: str | None,
        native_secret: str | None,
    ) -> None:
        """Replace a credential's password (its hash and both sealed forms); drop its tokens."""
        await self.session.execute(
            update(CredentialRow)
            .where(CredentialRow.id == credential_id)
            .values(
                secret_hash=secret_hash,
                cipher_verifier=cipher_verifier,
                native_secret=native_secret,
            )
        )
        await self.session.execute(delete(TokenRow).where(TokenRow.credential_id == credential_id))

    async def delete_token(self, token_hash: str) -> None:
        await self.session.execute(delete(TokenRow).where(TokenRow.token_hash == token_hash))

    async def add_token(self, token_hash: str, credential_id: int, expires_at: datetime) -> None:
        self.session.add(
            TokenRow(token_hash=token_hash, credential_id=credential_id, expires_at=expires_at)
        )
        await self.session.flush()

    async def by_token(
        self, token_hash: str, now: datetime
    ) -> tuple[CredentialRow, datetime] | None:
        """The live credential a token was issued for, and when the token expires."""
        statement = (
            select(CredentialRow, TokenRow.expires_at)
            .join(TokenRow, TokenRow.credential_id == CredentialRow.id)
            .where(
                TokenRow.token_hash == token_hash,
                TokenRow.expires_at > now,
                CredentialRow.revoked_at.is_(None),
            )
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])
