"""The Alembic history builds the models' schema exactly, and can be walked back."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from migrations.runner import downgrade, upgrade
from registry.storage import Base, Database


async def test_upgrade_head_matches_models_and_downgrade_empties(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db)
        async with db.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert diff == []
        assert set(Base.metadata.tables) <= tables

        await downgrade(db, "base")
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables <= {"alembic_version"}

        await upgrade(db)  # and up again, from empty
    finally:
        await db.dispose()
