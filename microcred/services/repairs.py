"""Operator repairs of one enrolment, each a validated workflow update recorded in the timeline."""

from __future__ import annotations

from microcred.contracts import (
    CancelEnrolment,
    EnrolmentView,
    ExtendDeadline,
    ReassignReview,
    ResendNotification,
)
from microcred.db import SessionFactory
from microcred.lifecycle import Lifecycle
from microcred.services import enrolments


async def extend_deadline(
    *, sessions: SessionFactory, lifecycle: Lifecycle, enrolment_id: str, actor: str, by: str, reason: str
) -> EnrolmentView:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await lifecycle.extend_deadline(enrolment_id, ExtendDeadline(actor=actor, by=by, reason=reason))


async def reassign_review(
    *,
    sessions: SessionFactory,
    lifecycle: Lifecycle,
    enrolment_id: str,
    actor: str,
    evaluator_id: str | None,
    reason: str,
) -> EnrolmentView:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await lifecycle.reassign_review(
        enrolment_id, ReassignReview(actor=actor, evaluator_id=evaluator_id, reason=reason)
    )


async def cancel(
    *,
    sessions: SessionFactory,
    lifecycle: Lifecycle,
    enrolment_id: str,
    actor: str,
    refund: bool | None,
    reason: str,
) -> EnrolmentView:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    return await lifecycle.cancel(enrolment_id, CancelEnrolment(actor=actor, refund=refund, reason=reason))


async def resend_notification(
    *,
    sessions: SessionFactory,
    lifecycle: Lifecycle,
    enrolment_id: str,
    actor: str,
    notification_id: str,
    reason: str,
) -> None:
    await enrolments.require(sessions=sessions, enrolment_id=enrolment_id)
    await lifecycle.resend_notification(
        enrolment_id, ResendNotification(actor=actor, notification_id=notification_id, reason=reason)
    )
