"""Storage models: the tables Alembic owns, as SQLAlchemy 2 declarative classes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "CredentialRow",
    "EnterpriseRow",
    "OutboxRow",
    "PrefixRow",
    "RecordRow",
    "SyncStateRow",
    "TemplateRow",
    "TokenRow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
SequenceInt = BigInteger().with_variant(Integer(), "sqlite")


class Timestamp(TypeDecorator[datetime]):
    """A timezone-aware ``DateTime`` that formats a moment it binds over and over only once.

    A batch stamps every row it writes with the same moment; SQLite's DATETIME formats each
    bound value anew, which cost a third of a batch write's time in the event loop.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: tuple[Any, Any] = (None, None)

        def bind(value: Any) -> Any:
            nonlocal last
            seen, bound = last  # one tuple, read and replaced whole: safe across threads
            if value is seen and value is not None:
                return bound
            bound = process(value)
            last = (value, bound)
            return bound

        return bind


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EnterpriseRow(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp())


class PrefixRow(Base):
    __tablename__ = "prefixes"

    prefix: Mapped[str] = mapped_column(String(255), primary_key=True)
    enterprise_id: Mapped[int | None] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp())


class CredentialRow(Base):
    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(300), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp())
    # sha256(password) sealed under the node's credential key, for the SNMS cipher login.
    cipher_verifier: Mapped[str | None] = mapped_column(String(200))
    # The password itself sealed under the credential key: a native-protocol HS_SECKEY answer
    # is a MAC keyed by the secret, which no hash of it can check.
    native_secret: Mapped[str | None] = mapped_column(String(400))
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp())


class TokenRow(Base):
    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(Timestamp())


class RecordRow(Base):
    __tablename__ = "records"

    handle: Mapped[str] = mapped_column(String(255), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(255), index=True)
    # The values as JSON text (orjson), so a read needs no per-value rows or decoding by the driver.
    values: Mapped[str] = mapped_column(Text)
    template_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp())
    updated_at: Mapped[datetime] = mapped_column(Timestamp())


class TemplateRow(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("prefix", "version"),)

    id: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp())
    updated_at: Mapped[datetime] = mapped_column(Timestamp())


class OutboxRow(Base):
    """A change waiting to reach the top-level node; written in the same transaction as the change."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(SequenceInt, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp())


class SyncStateRow(Base):
    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
