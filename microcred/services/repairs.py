"""Operator repairs of one enrolment, each a validated workflow update recorded in the timeline."""

from __future__ import annotations

import asyncio

from microcred.contracts import (
    CancelEnrolment,
    EnrolmentView,
    ExtendDeadline,
    ReassignReview,
    ResendNotification,
)
from microcred.db import SessionFactory
from microcred.errors import NotEligible, NotFound
from microcred.models import Enrolment, Evaluator
from microcred.services import enrolments
from microcred.temporal.client import WorkflowClient


async def extend_deadline(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    enrolment_id: str,
    actor: str,
    by: str,
    reason: str,
) -> EnrolmentView:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await workflows.extend_deadline(enrolment_id, ExtendDeadline(actor=actor, by=by, reason=reason))


async def reassign_review(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    enrolment_id: str,
    actor: str,
    evaluator_id: str | None,
    reason: str,
) -> EnrolmentView:
    """Hand the open review to the named evaluator (on duty), or to the least loaded eligible one."""
    await asyncio.to_thread(_check_reassignment, sessions, enrolment_id, evaluator_id)
    return await workflows.reassign_review(
        enrolment_id, ReassignReview(actor=actor, evaluator_id=evaluator_id, reason=reason)
    )


def _check_reassignment(sessions: SessionFactory, enrolment_id: str, evaluator_id: str | None) -> None:
    with sessions() as session:
        if session.get(Enrolment, enrolment_id) is None:
            raise NotFound("no such enrolment", enrolment_id=enrolment_id)
        named = session.get(Evaluator, evaluator_id) if evaluator_id is not None else None
        if named is not None and not named.on_duty:
            # Said plainly here; the workflow's pick would refuse them too, as not eligible.
            raise NotEligible(
                f"evaluator {evaluator_id} is off duty: put them back on duty, or choose another",
                evaluator_id=evaluator_id,
            )


async def cancel(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    enrolment_id: str,
    actor: str,
    refund: bool | None,
    reason: str,
) -> EnrolmentView:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await workflows.cancel(enrolment_id, CancelEnrolment(actor=actor, refund=refund, reason=reason))


async def resend_notification(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    enrolment_id: str,
    actor: str,
    notification_id: str,
    reason: str,
) -> None:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    await workflows.resend_notification(
        enrolment_id, ResendNotification(actor=actor, notification_id=notification_id, reason=reason)
    )
