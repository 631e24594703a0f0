"""Engine and sessions. Built once per process from Settings and injected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from microcred.errors import NotFound
from microcred.models import Enrolment

SessionFactory = Callable[[], Session]


def create_db_engine(url: str, *, pre_ping: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    On PostgreSQL ``pre_ping`` tests every connection as it leaves the pool, one round trip per
    checkout, so a restarted database costs the API no failed request. The worker goes without
    it: all its database work runs in activities, which Temporal retries, and the first
    connection found dead invalidates the rest of the pool, so a restart costs at most one
    attempt of each activity in flight and the retry reconnects (tests/activities/test_reconnect.py).
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, pool_pre_ping=pre_ping, **kwargs)


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def one_statement(factory: SessionFactory) -> Iterator[Session]:
    """A session for a write that is a single statement on PostgreSQL, which makes it atomic by
    itself: it runs in autocommit, without the BEGIN and COMMIT round trips of a transaction
    (two of its three). On SQLite, where such a write may take two statements and a
    transaction costs no round trip, it is ``transaction``."""
    with factory() as session:
        if is_postgres(session):
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        else:
            with session.begin():
                yield session


@contextmanager
def reading(factory: SessionFactory) -> Iterator[Session]:
    """A session that only reads. On PostgreSQL it runs in autocommit, without the BEGIN and
    ROLLBACK round trips of a transaction: each statement still sees what was committed when it
    began, exactly as in the READ COMMITTED transaction it would otherwise run in."""
    with factory() as session:
        if is_postgres(session):
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def upsert(session: Session, model: type[Any]) -> Any:
    """An INSERT into ``model``'s table in the session's dialect, which has ON CONFLICT."""
    dialects = {"postgresql": postgresql, "sqlite": sqlite}
    return dialects[session.get_bind().dialect.name].insert(model)


def insert_ignoring_duplicates(session: Session, model: type[Any], unique: tuple[str, ...]) -> Any:
    """An INSERT into ``model``'s table that skips a row whose ``unique`` columns exist already
    (ON CONFLICT DO NOTHING): an idempotent write in one statement, with no read before it."""
    return upsert(session, model).on_conflict_do_nothing(index_elements=list(unique))


def lock_enrolment(session: Session, enrolment_id: str) -> Enrolment:
    """Lock the enrolment row for the rest of the transaction and return it fresh.

    Saving a task and freezing a submission both start here, so they serialise: a save that
    commits first is in the snapshot; a save that comes after sees the new status. The lock is
    a write (row lock on PostgreSQL, the write lock on SQLite, which has no FOR UPDATE).
    """
    return lock_enrolment_with(session, enrolment_id, sa.null())[0]


def lock_enrolment_with(session: Session, enrolment_id: str, also: Any) -> tuple[Enrolment, Any]:
    """``lock_enrolment``, with the value of ``also`` (an SQL expression, which may read the
    locked row's columns) handed back by the same statement."""
    # One statement: the write takes the lock and RETURNING hands back the row it locked.
    row = session.execute(
        sa.update(Enrolment)
        .where(Enrolment.id == enrolment_id)  # type: ignore[arg-type]
        .values(row_version=Enrolment.row_version + 1)
        .returning(Enrolment, also),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if row is None:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return row[0], row[1]
