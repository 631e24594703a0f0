"""Fixtures of the workflow tests: a database of each test's own.

The workflow tests assert who is assigned a review, and that nobody is when no evaluator is
eligible. An evaluator registered for *all* credentials by another test would be eligible
here too, so every test gets a fresh copy of a migrated SQLite database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from microcred import migrate
from microcred.db import SessionFactory, create_db_engine, make_session_factory


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workflows-template") / "microcred.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(migrated_sqlite: Path, tmp_path: Path) -> Iterator[SessionFactory]:
    path = tmp_path / "microcred.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()
