"""Fixtures of the activity tests: an SMTP server of our own, and databases nobody else writes to."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from microcred import migrate
from microcred.db import SessionFactory, create_db_engine, make_session_factory
from tests.activities.smtp import SmtpServer
from tests.conftest import POSTGRES_ADMIN_URL


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


@pytest.fixture(scope="session")
def private_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def private_postgres_template() -> Iterator[str]:
    name = f"microcred_tmpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_postgres_url(name))
    yield name
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def private_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionFactory]:
    """A migrated database of this test's own, on each backend.

    For tests whose subject is a query over every row of a table (evaluator assignment looks at
    all evaluators): on the shared database another test's evaluators would take part.
    """
    if request.param == "sqlite":
        path = tmp_path / "private.db"
        shutil.copyfile(request.getfixturevalue("private_sqlite_template"), path)
        engine = create_db_engine(f"sqlite:///{path}")
        yield make_session_factory(engine)
        engine.dispose()
        return
    template = request.getfixturevalue("private_postgres_template")
    name = f"microcred_own_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    engine = create_db_engine(_postgres_url(name))
    yield make_session_factory(engine)
    engine.dispose()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port, accepting everything."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
