"""The top-level node's store: registered nodes, the prefix directory, copies, statistics.

All of the simulator's SQL lives here. Its schema is small and its own, so it is created on
start with ``create_all`` rather than through the node's Alembic history.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from registry import Conflict, EntityNotFound, Forbidden, Handle, InvalidInput, InvalidValue, Prefix
from registry.storage import Database
from registry.trust import Certificate, RegistrationProof

from .models import (
    ChangeRow,
    CopyRow,
    HomedPrefixRow,
    NodeCertificateRow,
    NodeDnsRow,
    NodeRow,
    StatsRow,
    TopLevelBase,
    UsedProofRow,
)

__all__ = ["FIRST_CERT_INDEX", "KINDS", "BatchResult", "Change", "TopLevelStore"]

KINDS = ("handle.upsert", "handle.delete", "prefix.create")
FIRST_CERT_INDEX = 400
# The members RFC 7638 hashes for a key's thumbprint: what identifies the key, nothing else.
_KEY_MEMBERS = ("crv", "e", "kty", "n", "x", "y")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a sync batch: the node's outbox id, its kind, subject and payload."""

    id: int
    kind: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchResult:
    seq: int
    applied: bool
    last_seq: int

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "applied": self.applied, "lastSeq": self.last_seq}


class TopLevelStore:
    """Everything the simulated top-level node keeps, in one SQLite file."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    async def open(self) -> None:
        async with self.db.engine.begin() as connection:
            await connection.run_sync(TopLevelBase.metadata.create_all)

    async def close(self) -> None:
        await self.db.dispose()

    # Nodes

    async def register_node(
        self,
        code: str,
        base_url: str,
        public_key: dict[str, Any],
        token_hash: str,
        certificate: str | None = None,
        *,
        replaces: str | None = None,
        proof: RegistrationProof | None = None,
        force: bool = False,
        dns: dict[str, Any] | None = None,
    ) -> bool:
        """Register a node, or re-register it (new site, key and token); True when new.

        A registered node is replaced only by the operator (``force``), or with a ``proof``
        checked against its key ``replaces`` that is still its key and was not used before.
        """
        now = datetime.now(UTC)
        key_text = orjson.dumps(public_key).decode()
        async with self.db.write() as session:
            row = await session.get(NodeRow, code, with_for_update=True)
            if row is None:
                session.add(
                    NodeRow(
                        code=code,
                        base_url=base_url,
                        public_key=key_text,
                        token_hash=token_hash,
                        certificate=certificate,
                        last_seq=0,
                        batches=0,
                        changes=0,
                        registered_at=now,
                    )
                )
            else:
                if not force:
                    await _spend_proof(session, code, row, replaces, proof, int(now.timestamp()))
                row.base_url, row.public_key, row.token_hash = base_url, key_text, token_hash
                row.certificate = certificate
            if certificate is not None:
                await self._keep_certificate(session, code, certificate)
            published = await session.get(NodeDnsRow, code)
            if dns is None and published is not None:
                await session.delete(published)
            elif dns is not None and published is None:
                session.add(NodeDnsRow(code=code, frontend=orjson.dumps(dns).decode()))
            elif dns is not None and published is not None:
                published.frontend = orjson.dumps(dns).decode()
            return row is None

    async def dns_frontend(self, code: str) -> dict[str, Any] | None:
        """The DNS frontend node ``code`` registered, if any."""
        async with self.db.read() as session:
            row = await session.get(NodeDnsRow, code)
        return None if row is None else orjson.loads(row.frontend)

    async def _keep_certificate(self, session: Any, code: str, certificate: str) -> None:
        """Publish ``certificate`` beside the node's other unexpired ones; drop expired ones.

        A new key's certificate takes the next HS_CERT index, never one a dropped certificate
        had; the same key certified again keeps its index. A certificate that does not parse
        is left to the node row alone.
        """
        try:
            cert = Certificate.parse(certificate)
        except InvalidValue:
            return
        digest = _key_digest(cert.public_jwk)
        rows = list(
            (
                await session.execute(
                    select(NodeCertificateRow).where(NodeCertificateRow.node_code == code)
                )
            ).scalars()
        )
        next_index = max((row.value_index for row in rows), default=FIRST_CERT_INDEX - 1) + 1
        now = int(time.time())
        held = None
        for row in rows:
            if row.key_digest == digest:
                held = row
            elif row.expires_at <= now:
                await session.delete(row)
        key_index = int(cert.sub.partition(":")[0])
        if held is not None:
            held.certificate, held.expires_at, held.key_index = certificate, cert.exp, key_index
            return
        session.add(
            NodeCertificateRow(
                node_code=code,
                key_digest=digest,
                value_index=next_index,
                key_index=key_index,
                public_key=orjson.dumps(cert.public_jwk).decode(),
                certificate=certificate,
                expires_at=cert.exp,
            )
        )

    async def certificates(self, code: str) -> list[NodeCertificateRow]:
        """The node's unexpired certificates, by their HS_CERT index."""
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(
                        select(NodeCertificateRow)
                        .where(
                            NodeCertificateRow.node_code == code,
                            NodeCertificateRow.expires_at > int(time.time()),
                        )
                        .order_by(NodeCertificateRow.value_index)
                    )
                ).scalars()
            )

    async def node_key(self, code: str) -> str | None:
        """The public key (JWK text) node ``code`` is registered with, if it is."""
        async with self.db.read() as session:
            row = await session.get(NodeRow, code)
        return None if row is None else row.public_key

    async def node_for_token(self, token_hash: str) -> str | None:
        """The code of the node whose sync token has this hash, if any."""
        async with self.db.read() as session:
            statement = select(NodeRow.code).where(NodeRow.token_hash == token_hash)
            return (await session.execute(statement)).scalars().first()

    async def nodes(self) -> list[dict[str, Any]]:
        """Every node with its counts: copies, homed prefixes, last applied sequence."""
        async with self.db.read() as session:
            rows = list((await session.execute(select(NodeRow).order_by(NodeRow.code))).scalars())
            copies = dict(
                (
                    await session.execute(
                        select(CopyRow.node_code, func.count()).group_by(CopyRow.node_code)
                    )
                ).all()
            )
            homed = dict(
                (
                    await session.execute(
                        select(HomedPrefixRow.node_code, func.count()).group_by(
                            HomedPrefixRow.node_code
                        )
                    )
                ).all()
            )
        return [_node_summary(row, copies.get(row.code, 0), homed.get(row.code, 0)) for row in rows]

    async def node(self, code: str) -> dict[str, Any]:
        """One node: its summary, copies per prefix, and its latest statistics."""
        async with self.db.read() as session:
            row = await session.get(NodeRow, code)
            if row is None:
                raise EntityNotFound(f"node {code} is not registered")
            per_prefix = dict(
                (
                    await session.execute(
                        select(CopyRow.prefix, func.count())
                        .where(CopyRow.node_code == code)
                        .group_by(CopyRow.prefix)
                    )
                ).all()
            )
            homed = list(
                (
                    await session.execute(
                        select(HomedPrefixRow.prefix)
                        .where(HomedPrefixRow.node_code == code)
                        .order_by(HomedPrefixRow.prefix)
                    )
                ).scalars()
            )
            stats = (
                await session.execute(
                    select(StatsRow)
                    .where(StatsRow.node_code == code)
                    .order_by(StatsRow.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        summary = _node_summary(row, sum(per_prefix.values()), len(homed))
        summary["prefixes"] = {
            prefix: per_prefix.get(prefix, 0) for prefix in sorted({*homed, *per_prefix})
        }
        summary["statistics"] = (
            None
            if stats is None
            else {"reportedAt": _iso(stats.reported_at), **orjson.loads(stats.body)}
        )
        return summary

    # Sync intake

    async def apply_batch(self, code: str, seq: int, changes: Sequence[Change]) -> BatchResult:
        """Apply batch ``seq`` of node ``code`` exactly once: all of it or none of it."""
        node_code = Prefix.parse(code)
        checked = [_check_change(node_code, position, c) for position, c in enumerate(changes)]
        now = datetime.now(UTC)
        async with self.db.write() as session:
            row = await session.get(NodeRow, code, with_for_update=True)
            if row is None:
                raise EntityNotFound(f"node {code} is not registered")
            if seq <= row.last_seq:
                return BatchResult(seq, False, row.last_seq)
            if seq != row.last_seq + 1:
                raise Conflict(
                    f"batch {seq} of node {code} is out of order: the next expected is"
                    f" {row.last_seq + 1}"
                )
            await self._apply_changes(session, code, seq, checked, now)
            row.last_seq = seq
            row.batches += 1
            row.changes += len(checked)
            row.last_batch_at = now
        return BatchResult(seq, True, seq)

    async def _apply_changes(
        self, session: Any, code: str, seq: int, changes: Sequence[Change], now: datetime
    ) -> None:
        for change in changes:
            if change.kind == "handle.upsert":
                values = orjson.dumps(change.payload["values"]).decode()
                statement = sqlite_insert(CopyRow).values(
                    handle=change.subject,
                    node_code=code,
                    prefix=_prefix_of(change.subject),
                    values=values,
                    batch_seq=seq,
                    updated_at=now,
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[CopyRow.handle],
                        set_={"values": values, "batch_seq": seq, "updated_at": now},
                    )
                )
            elif change.kind == "handle.delete":
                await session.execute(delete(CopyRow).where(CopyRow.handle == change.subject))
            else:
                await session.execute(
                    sqlite_insert(HomedPrefixRow)
                    .values(prefix=change.subject, node_code=code, created_at=now)
                    .on_conflict_do_nothing()
                )
        if changes:
            await session.execute(
                insert(ChangeRow),
                [
                    {
                        "node_code": code,
                        "batch_seq": seq,
                        "change_id": change.id,
                        "kind": change.kind,
                        "subject": change.subject,
                        "applied_at": now,
                    }
                    for change in changes
                ],
            )

    async def add_stats(self, code: str, body: dict[str, Any]) -> None:
        async with self.db.write() as session:
            session.add(
                StatsRow(
                    node_code=code, reported_at=datetime.now(UTC), body=orjson.dumps(body).decode()
                )
            )

    # Reads

    async def copy(self, handle: str) -> dict[str, Any]:
        async with self.db.read() as session:
            row = await session.get(CopyRow, handle)
        if row is None:
            raise EntityNotFound(f"no copy of {handle} is held")
        return {
            "handle": row.handle,
            "nodeCode": row.node_code,
            "batchSeq": row.batch_seq,
            "updatedAt": _iso(row.updated_at),
            "values": orjson.loads(row.values),
        }

    async def changes(self, code: str, after: int, limit: int) -> list[dict[str, Any]]:
        """The journal of node ``code`` in the order it was applied, after journal id ``after``."""
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(ChangeRow)
                    .where(ChangeRow.node_code == code, ChangeRow.id > after)
                    .order_by(ChangeRow.id)
                    .limit(limit)
                )
            ).scalars()
            return [
                {
                    "id": row.id,
                    "batchSeq": row.batch_seq,
                    "changeId": row.change_id,
                    "kind": row.kind,
                    "subject": row.subject,
                }
                for row in rows
            ]

    async def directory_entry(self, prefix: str) -> NodeRow | None:
        """The node serving ``prefix`` (its own code or a prefix it homed), if any."""
        async with self.db.read() as session:
            node = await session.get(NodeRow, prefix)
            if node is not None:
                return node
            homed = await session.get(HomedPrefixRow, prefix)
            if homed is None:
                return None
            return await session.get(NodeRow, homed.node_code)


async def _spend_proof(
    session: Any,
    code: str,
    row: NodeRow,
    replaces: str | None,
    proof: RegistrationProof | None,
    now: int,
) -> None:
    """Accept ``proof`` once: checked against the node's key as it still is, never seen before."""
    if proof is None or replaces is None:
        raise Forbidden(
            f"node {code} is already registered: re-registering needs a 'proof' signed by its"
            " current key"
        )
    if row.public_key != replaces:
        raise Forbidden(f"the key of node {code} changed meanwhile: sign a new proof")
    await session.execute(delete(UsedProofRow).where(UsedProofRow.expires < now))
    if await session.get(UsedProofRow, proof.jti) is not None:
        raise Forbidden("this proof was used before: sign a new one")
    session.add(UsedProofRow(jti=proof.jti, node_code=code, expires=proof.expires))


def _node_summary(row: NodeRow, copies: int, homed: int) -> dict[str, Any]:
    return {
        "nodeCode": row.code,
        "baseUrl": row.base_url,
        "publicKey": orjson.loads(row.public_key),
        "lastSeq": row.last_seq,
        "batches": row.batches,
        "changes": row.changes,
        "copies": copies,
        "homedPrefixes": homed,
        "registeredAt": _iso(row.registered_at),
        "lastBatchAt": _iso(row.last_batch_at) if row.last_batch_at else None,
    }


def _key_digest(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in _KEY_MEMBERS if name in jwk}
    return hashlib.sha256(orjson.dumps(members, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _prefix_of(handle: str) -> str:
    return handle.partition("/")[0].upper()


def _check_change(node_code: Prefix, position: int, change: Change) -> Change:
    """A change the node may make: a known kind, about a handle or prefix under its code."""
    where = f"change {position + 1} (id {change.id})"
    if change.kind not in KINDS:
        raise InvalidInput(f"{where}: unknown kind {change.kind!r}; use one of {list(KINDS)}")
    if change.kind == "prefix.create":
        prefix = Prefix.parse(change.subject)
        if not prefix.is_within(node_code) or prefix == node_code:
            raise Forbidden(f"{where}: prefix {prefix} is not under node code {node_code}")
        return Change(change.id, change.kind, str(prefix), change.payload)
    handle = Handle.parse(change.subject)
    owner = handle.prefix
    if str(owner) == "0.NA":
        owner = Prefix.parse(handle.suffix)
    if not owner.is_within(node_code):
        raise Forbidden(f"{where}: {handle} is not under node code {node_code}")
    if change.kind == "handle.upsert" and not isinstance(change.payload.get("values"), list):
        raise InvalidInput(f"{where}: a handle.upsert payload needs the record's 'values' list")
    return Change(change.id, change.kind, str(handle), change.payload)
