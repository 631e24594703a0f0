"""The worker's PostgreSQL engine tests no connection before use (``pre_ping=False``, see
``microcred.db.create_db_engine``): after a database restart an activity fails one attempt, and
the attempt Temporal retries reconnects, even with more dead connections left in the pool."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

import worker
from activities.store import StoreActivities
from microcred.contracts import EventKind, RecordInput, Status
from microcred.db import SessionFactory
from tests.activities.builders import enrolment, event, view
from tests.activities.conftest import _postgres_url
from tests.activities.test_store import row, run
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support import test_settings

POOLED = 3


@pytest.fixture
def own_database(private_postgres_template: str) -> Iterator[str]:
    name = f"microcred_own_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{private_postgres_template}"')
    yield name
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restart(database: str) -> int:
    """What a database restart does to our connections: the server ends every one of them."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            [database],
        ).fetchone()
    assert ended is not None
    return int(ended[0])


def fill_pool(sessions: SessionFactory) -> None:
    with ExitStack() as stack:
        for _ in range(POOLED):
            stack.enter_context(sessions()).execute(sa.text("SELECT 1"))


def test_an_activity_fails_one_attempt_after_a_restart_and_its_retry_reconnects(own_database: str) -> None:
    sessions = worker.deps_from_settings(test_settings(database_url=_postgres_url(own_database))).sessions
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, status=Status.AWAITING_PAYMENT, seq=1)
    fill_pool(sessions)
    inp = RecordInput(
        view=view(seeded, seq=2, status=Status.AWAITING_PAYMENT, checkout_session_id="cs_1"),
        event=event(EventKind.CHECKOUT_OPENED, checkout_session_id="cs_1"),
    )

    assert restart(own_database) == POOLED
    with pytest.raises(OperationalError) as failed:
        run(acts.record, inp)  # the attempt that meets a dead connection
    assert failed.value.connection_invalidated

    run(acts.record, inp)  # Temporal's retry: the other pooled connections are dead too

    assert row(sessions, seeded.enrolment_id).seq == 2
