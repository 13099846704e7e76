"""Schema management through Alembic: the one history that runs on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from registry import Unavailable
from registry.storage import Database

from . import SCRIPT_LOCATION

__all__ = ["alembic_config", "current_revisions", "downgrade", "require_schema", "upgrade"]


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the migrations shipped with idnode, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def current_revisions(db: Database) -> list[str]:
    """The revisions the database is at, sorted (empty: no schema yet)."""
    async with db.engine.connect() as connection:
        heads = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_heads()
        )
    return sorted(heads)


async def downgrade(db: Database, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` empties the schema)."""
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


@cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def require_schema(db: Database) -> None:
    """Raise ``Unavailable`` unless the database is migrated to the newest revision shipped."""
    async with db.read() as session:
        connection = await session.connection()
        current = await connection.run_sync(
            lambda sync: frozenset(MigrationContext.configure(sync).get_current_heads())
        )
    if current != _heads():
        at = ", ".join(sorted(current)) or "no schema"
        raise Unavailable(
            f"the database is not migrated (it is at {at}, this node needs"
            f" {', '.join(sorted(_heads()))}): run idnode migrate"
        )
