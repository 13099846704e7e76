"""The top-level node's own small store: its tables, created on start (no Alembic history)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ChangeRow",
    "CopyRow",
    "HomedPrefixRow",
    "NodeCertificateRow",
    "NodeDnsRow",
    "NodeRow",
    "StatsRow",
    "TopLevelBase",
    "UsedProofRow",
]

Timestamp = DateTime(timezone=True)
SequenceInt = BigInteger().with_variant(Integer(), "sqlite")


class TopLevelBase(DeclarativeBase):
    metadata = MetaData()


class NodeRow(TopLevelBase):
    """A secondary node registered with its code, where it is served and its public key."""

    __tablename__ = "nodes"

    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(2000))
    public_key: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    # Issued by the root CA when one is plugged in (``create_toplevel_app(certify=...)``).
    certificate: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    batches: Mapped[int] = mapped_column(BigInteger, default=0)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
    registered_at: Mapped[datetime] = mapped_column(Timestamp)
    last_batch_at: Mapped[datetime | None] = mapped_column(Timestamp)


class NodeDnsRow(TopLevelBase):
    """A node's DNS frontend as it registered it (JSON), published in its HS_SITE values.

    A table of its own so top-level databases made before it gain it with ``create_all``.
    """

    __tablename__ = "node_dns"

    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    frontend: Mapped[str] = mapped_column(Text)


class NodeCertificateRow(TopLevelBase):
    """A certificate issued to one key of a node, published at ``0.NA/<code>`` until it expires.

    Every key keeps its own (latest) certificate, so records signed before a rotation still
    verify; ``value_index`` is its HS_CERT index, fixed for the key's lifetime.
    """

    __tablename__ = "node_certificates"

    node_code: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of the key's RFC 7638 members: the same key re-certified replaces its certificate.
    key_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_index: Mapped[int] = mapped_column(Integer)
    key_index: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[str] = mapped_column(Text)
    certificate: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class HomedPrefixRow(TopLevelBase):
    """An enterprise prefix and the node that serves it: one directory entry ``0.NA/<prefix>``."""

    __tablename__ = "homed_prefixes"

    prefix: Mapped[str] = mapped_column(String(255), primary_key=True)
    node_code: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CopyRow(TopLevelBase):
    """The recovery copy of one record, as the node last shipped it."""

    __tablename__ = "copies"

    handle: Mapped[str] = mapped_column(String(255), primary_key=True)
    node_code: Mapped[str] = mapped_column(String(255), index=True)
    prefix: Mapped[str] = mapped_column(String(255), index=True)
    values: Mapped[str] = mapped_column(Text)
    batch_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ChangeRow(TopLevelBase):
    """The journal of applied changes, in the order they were applied.

    Exactly-once rests on the batch sequence number; ``change_id`` (the node's outbox id) is
    informative only, as SQLite may reuse it once the node's outbox has been emptied.
    """

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    node_code: Mapped[str] = mapped_column(String(255))
    batch_seq: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class StatsRow(TopLevelBase):
    """One statistics report of a node."""

    __tablename__ = "stats"

    id: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    node_code: Mapped[str] = mapped_column(String(255), index=True)
    reported_at: Mapped[datetime] = mapped_column(Timestamp)
    body: Mapped[str] = mapped_column(Text)


class UsedProofRow(TopLevelBase):
    """A registration proof already accepted, kept until it expires so it cannot be replayed."""

    __tablename__ = "used_proofs"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_code: Mapped[str] = mapped_column(String(255))
    expires: Mapped[int] = mapped_column(BigInteger, index=True)
