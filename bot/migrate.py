"""Run Alembic migrations from the bot's own event loop (``learnbot migrate`` and ``run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import migrations
from db.engine import normalise_url

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def migration_engine(url: str) -> AsyncEngine:
    """An engine for migrating: on SQLite with foreign keys OFF, so batch table rebuilds
    (copy, drop, rename) cannot cascade-delete child rows."""
    url = normalise_url(url)
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["quiet_logging"] = True
    return config


async def _run(url: str, action: Any) -> None:
    engine = migration_engine(url)
    try:
        async with engine.connect() as connection:

            def in_sync(sync_connection: Connection) -> None:
                config = alembic_config(url)
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(in_sync)
            await connection.commit()
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda config: command.downgrade(config, revision))
