"""Faults inside the workflow: a step that gives up changes nothing and never freezes the
enrolment; a duty that keeps failing is tried again, and the admins are told.

Faults are injected by standing in for one activity (``running(override=...)``) with one that
fails the way the real one would on bad data: a non-retryable ``InvalidData``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import BadgeInput, BadgeResult, DecisionInput, NotificationKind, Status
from microcred.db import SessionFactory
from microcred.errors import Unavailable
from microcred.temporal.names import Activity
from tests.support import credential_doc, publish, register_evaluator, uid
from tests.workflows.harness import eventually, fake_issue_badge, real_activity, running
from workflows.enrolment.duties import STALL_ALERT_AFTER


def invalid_data() -> ApplicationError:
    return ApplicationError("the data cannot be stored: injected", type="InvalidData", non_retryable=True)


async def test_a_decision_that_cannot_be_recorded_changes_nothing_and_can_be_made_again(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, uid("e"), credential_ids=[doc.id])
    real = real_activity(ts_env, db, Activity.RECORD_DECISION)
    refused: list[DecisionInput] = []

    @activity.defn(name=Activity.RECORD_DECISION)
    def record_decision(inp: DecisionInput) -> None:
        if not refused:
            refused.append(inp)
            raise invalid_data()
        real(inp)

    async with running(ts_env, db, override=[record_decision]) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.submit(e)
        await h.assigned(e, evaluator)
        before = await h.snapshot(e)

        with pytest.raises(Unavailable, match="nothing changed"):
            await h.decide(e, evaluator, unmet=[doc.sections[0].rubric[0].id])
        assert refused, "the store was asked, and refused"
        assert await h.snapshot(e) == before  # the workflow's state and the read model alike
        assert h.marks(e, 1) == {}

        # Not frozen: the lock is free, and the same evaluator decides again.
        result = await h.decide(e, evaluator)
        assert result.status is Status.APPROVED
        assert len(h.marks(e, 1)) == sum(len(s.rubric) for s in doc.sections)


async def test_a_duty_that_keeps_failing_is_tried_again_and_the_admins_are_told(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, uid("e"), credential_ids=[doc.id])
    broken = [True]
    tries: list[BadgeInput] = []

    @activity.defn(name=Activity.ISSUE_BADGE)
    def issue_badge(inp: BadgeInput) -> BadgeResult:
        tries.append(inp)
        if broken[0]:
            raise invalid_data()
        return fake_issue_badge(inp)

    async with running(ts_env, db, override=[issue_badge]) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.submit(e)
        await h.assigned(e, evaluator)
        await h.decide(e, evaluator)
        await eventually(lambda: tries or None, what="the badge tried")
        assert h.row(e).status == Status.APPROVED
        assert (await h.state(e)).badge_id is None

        await h.advance(STALL_ALERT_AFTER + timedelta(minutes=2))
        alerts = await h.notes_counted(e, NotificationKind.OPERATOR_ALERT.value, 1)
        assert "is stuck" in alerts[0].subject
        assert Activity.ISSUE_BADGE in alerts[0].body
        assert len(tries) >= 3, "tried again after pauses"

        broken[0] = False
        await h.advance(timedelta(hours=1))
        row = await eventually(lambda: h.row_if(e, status=Status.APPROVED) if h.row(e).badge_id else None)
        assert row.badge_id is not None
        assert len(h.notes(e, NotificationKind.OPERATOR_ALERT.value)) == 1, "told once"
