"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def _insert(session: AsyncSession, model: Any) -> Any:
    return insert_for(session.get_bind().dialect.name, model)


def insert_for(name: str, model: Any) -> Any:
    """The dialect's own ``insert`` (with ``on_conflict_…``) for a dialect's name."""
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {name!r}")


def upsert(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any],
    index_elements: list[str],
    update: dict[str, Any] | None,
) -> Insert:
    """``INSERT … ON CONFLICT (index_elements) DO UPDATE SET update`` (or ``DO NOTHING``)."""
    stmt = _insert(session, model).values(**values)
    if update:
        return stmt.on_conflict_do_update(index_elements=index_elements, set_=update)
    return stmt.on_conflict_do_nothing(index_elements=index_elements)
