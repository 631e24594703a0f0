"""The badge through the real enrolment workflow and worker: approval issues one verifiable badge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from microcred.badges import BadgeIssuer, badge_id_for
from microcred.db import SessionFactory
from microcred.models import Badge
from microcred.services import badges
from tests.support import publish, register_evaluator, running_worker
from tests.workflows.harness import Harness, eventually


async def test_approval_issues_one_badge_that_verifies(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, issuer: BadgeIssuer
) -> None:
    # A database of its own: an evaluator registered elsewhere for all credentials must not take the review.
    doc = publish(own_sqlite)
    evaluator = register_evaluator(own_sqlite, credential_ids=[doc.id])
    async with running_worker(ts_env.client, own_sqlite, issuer=issuer) as run:
        h = Harness.over(ts_env, run)
        created = await h.enrol(doc)
        await h.paid(created)
        await h.submit(created)
        await h.assigned(created, evaluator)
        decided = await h.decide(created, evaluator)
        assert decided.status == "approved"
        # The workflow writes the badge id into its read model after the activity.
        badge_id = await eventually(lambda: h.row(created).badge_id, what="badge issued")

    assert badge_id == badge_id_for(created.id, 1)
    with own_sqlite() as session:
        rows = session.exec(select(Badge).where(Badge.enrolment_id == created.id)).all()
        assert [b.id for b in rows] == [badge_id]
        outcome = badges.verify(session, issuer=issuer, badge_id=badge_id, now=datetime.now(UTC))
    assert outcome.valid, outcome.reason
    assert outcome.achievement is not None and outcome.achievement.name == doc.title
