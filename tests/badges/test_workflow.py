"""The badge through the real enrolment workflow and worker: approval issues one verifiable badge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from microcred.badges import BadgeIssuer, badge_id_for
from microcred.contracts import DecisionRequest, Mark, Outcome, PaymentConfirmed, SubmitRequest
from microcred.db import SessionFactory, transaction
from microcred.models import Badge, Enrolment
from microcred.services import badges, enrolments, work
from tests.support import member, publish, register_evaluator, running_worker


def enrolment(sessions: SessionFactory, enrolment_id: str) -> Enrolment:
    with sessions() as session:
        found = session.get(Enrolment, enrolment_id)
        assert found is not None
        return found


async def eventually(probe: Callable[[], bool]) -> None:
    """Wait (briefly, in real time) until ``probe`` holds."""
    for _ in range(400):
        if probe():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("condition not reached in time")


async def test_approval_issues_one_badge_that_verifies(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, issuer: BadgeIssuer
) -> None:
    # A database of its own: an evaluator registered elsewhere for all credentials must not take the review.
    sessions = own_sqlite
    doc = publish(sessions)
    evaluator = register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()
    async with running_worker(ts_env.client, sessions, issuer=issuer) as run:
        created = await enrolments.enrol(
            sessions=sessions, lifecycle=run.lifecycle, principal=someone, credential_id=doc.id
        )
        assert created.checkout_session_id
        await run.lifecycle.payment_confirmed(
            created.id,
            PaymentConfirmed(
                checkout_session_id=created.checkout_session_id,
                event_id="evt_badge",
                amount=9900,
                currency="usd",
            ),
        )
        await eventually(lambda: enrolment(sessions, created.id).status == "in_progress")
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
        await run.lifecycle.submit(
            created.id, SubmitRequest(agree_terms=True, answered_task_ids=["plan-1", "reflect-1"])
        )
        await eventually(lambda: enrolment(sessions, created.id).evaluator_id == evaluator)
        decided = await run.lifecycle.decide(
            created.id,
            DecisionRequest(
                evaluator_id=evaluator,
                outcome=Outcome.APPROVED,
                marks=[
                    Mark(criterion_id=c, met=True, comment="ok") for c in ("plan-c", "reflect-c", "reflect-d")
                ],
            ),
        )
        assert decided.status == "approved"
        # The workflow writes the badge id into its read model after the activity.
        await eventually(lambda: enrolment(sessions, created.id).badge_id is not None)

    badge_id = enrolment(sessions, created.id).badge_id
    assert badge_id == badge_id_for(created.id, 1)
    with sessions() as session:
        rows = session.exec(select(Badge).where(Badge.enrolment_id == created.id)).all()
        assert [b.id for b in rows] == [badge_id]
        outcome = badges.verify(session, issuer=issuer, badge_id=badge_id, now=datetime.now(UTC))
    assert outcome.valid, outcome.reason
    assert outcome.achievement is not None and outcome.achievement.name == doc.title
