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
from microcred.errors import NotFound
from microcred.lifecycle import Lifecycle
from microcred.models import Enrolment


def _exists(sessions: SessionFactory, enrolment_id: str) -> None:
    with sessions() as session:
        if session.get(Enrolment, enrolment_id) is None:
            raise NotFound("no such enrolment", enrolment_id=enrolment_id)


async def extend_deadline(
    *, sessions: SessionFactory, lifecycle: Lifecycle, enrolment_id: str, actor: str, by: str, reason: str
) -> EnrolmentView:
    await asyncio.to_thread(_exists, sessions, enrolment_id)
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
    await asyncio.to_thread(_exists, sessions, enrolment_id)
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
    await asyncio.to_thread(_exists, sessions, enrolment_id)
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
    await asyncio.to_thread(_exists, sessions, enrolment_id)
    await lifecycle.resend_notification(
        enrolment_id, ResendNotification(actor=actor, notification_id=notification_id, reason=reason)
    )
