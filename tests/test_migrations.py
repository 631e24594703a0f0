"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import microcred.models  # noqa: F401  (registers every table on SQLModel.metadata)
from microcred import migrate
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it yet, of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"microcred_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def inspect(url: str) -> tuple[list[Any], set[str], str | None]:
    """(what autogenerate would change, the tables, the revision) of the database at ``url``."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            # The same comparison options as migrations/env.py, so this is what autogenerate sees.
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            tables = set(sa.inspect(connection).get_table_names())
            return diff, tables, context.get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def test_upgrade_builds_the_schema_of_the_models(empty_url: str) -> None:
    migrate.upgrade(empty_url)

    diff, tables, revision = inspect(empty_url)
    assert diff == []
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert revision == head()

    migrate.upgrade(empty_url)  # idempotent: `microcred setup` runs it on every deploy
    assert inspect(empty_url) == (diff, tables, revision)


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    migrate.upgrade(empty_url)

    command.downgrade(migrate.alembic_config(empty_url), "base")
    diff, tables, revision = inspect(empty_url)
    assert (tables, revision) == ({"alembic_version"}, None)
    assert diff  # every model table is missing now: the comparison does see differences

    migrate.upgrade(empty_url)
    diff, tables, revision = inspect(empty_url)
    assert diff == []
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert revision == head()
