"""Shared fixtures: the Temporal test servers and the two databases.

Each test owns its data: credentials, members and enrolments carry fresh uuid-based ids, so
tests never see each other's rows even on the shared, migrated databases.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from microcred import binaries, migrate
from microcred.db import SessionFactory, create_db_engine, make_session_factory
from microcred.temporal.setup import register_search_attributes

POSTGRES_ADMIN_URL = os.environ.get(
    "MICROCRED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _binary(name: str) -> str:
    path = binaries.find(name)
    assert path, f"{name} is not on PATH: install the dev requirements (make test does)"
    return path


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own: timers of months pass in milliseconds.

    Its clock is global, so a test that skips time must not share it with workflows that other
    tests left behind (it starts in about 0.1 s).
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=_binary("temporal-test-server")
    )
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (for search attributes, metadata and the UI's view)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=_binary("temporal"),
        dev_server_extra_args=["--log-level", "error"],
    )
    await register_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'microcred.db'}"
    migrate.upgrade(url)
    return url


@contextlib.contextmanager
def migrated_postgres(prefix: str) -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, migrated, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (.ci/run starts it): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with migrated_postgres("microcred_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Both supported databases, for tests that must hold on each."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def sqlite_sessions(sqlite_url: str) -> SessionFactory:
    return make_session_factory(create_db_engine(sqlite_url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "microcred.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def own_sqlite(sqlite_template: Path, tmp_path: Path) -> Iterator[SessionFactory]:
    """A migrated SQLite database of the test's own (for data that is global by nature, such
    as an evaluator registered for every credential)."""
    path = tmp_path / "microcred.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[SessionFactory]:
    engine = create_db_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")
