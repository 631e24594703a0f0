"""The enrolment workflow on the time-skipping server, with the real activities over SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from microcred.contracts import DecisionRequest, Mark, Outcome, PaymentConfirmed, SubmitRequest
from microcred.db import SessionFactory, transaction
from microcred.models import Enrolment
from microcred.services import enrolments, work
from tests.support import member, publish, register_evaluator, running_worker


async def eventually(probe: Callable[[], Any], *, timeout: float = 10) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def row(sessions: SessionFactory, enrolment_id: str) -> Enrolment:
    with sessions() as session:
        found = session.get(Enrolment, enrolment_id)
        assert found is not None
        return found


async def test_happy_path(ts_env: WorkflowEnvironment, sqlite_sessions: SessionFactory) -> None:
    sessions = sqlite_sessions
    doc = publish(sessions)
    evaluator = register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()
    async with running_worker(ts_env.client, sessions) as run:
        created = await enrolments.enrol(
            sessions=sessions, lifecycle=run.lifecycle, principal=someone, credential_id=doc.id
        )
        assert created.status == "awaiting_payment"
        assert created.checkout_url and created.checkout_session_id
        await run.lifecycle.payment_confirmed(
            created.id,
            PaymentConfirmed(
                checkout_session_id=created.checkout_session_id, event_id="evt_1", amount=9900, currency="usd"
            ),
        )
        await eventually(lambda: row(sessions, created.id).status == "in_progress")
        for task_id in ("plan-1", "reflect-1"):
            with transaction(sessions) as session:
                work.save_task(
                    session,
                    enrolment_id=created.id,
                    member_id=someone.sub,
                    task_id=task_id,
                    response=f"my answer to {task_id}",
                    now=datetime.now(UTC),
                )
        result = await run.lifecycle.submit(
            created.id, SubmitRequest(agree_terms=True, answered_task_ids=["plan-1", "reflect-1"])
        )
        assert result.status == "under_review"
        assert row(sessions, created.id).status == "under_review"
        await eventually(lambda: row(sessions, created.id).evaluator_id == evaluator)
        decided = await run.lifecycle.decide(
            created.id,
            DecisionRequest(
                evaluator_id=evaluator,
                outcome=Outcome.APPROVED,
                marks=[Mark(criterion_id=c, met=True) for c in ("plan-c", "reflect-c", "reflect-d")],
            ),
        )
        assert decided.status == "approved"
        assert row(sessions, created.id).status == "approved"
        assert timedelta(0) <= decided.due_at - result.submitted_at  # type: ignore[operator]
