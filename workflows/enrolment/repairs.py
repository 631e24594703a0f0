"""The admins' repairs of an enrolment, each recorded in its timeline with who did it and why:
extend the deadline, reassign the review, cancel (with the refund the policy or the admin
chooses), send a notification again. Their rules are in ``microcred.rules``."""

from __future__ import annotations

from temporalio import workflow

from workflows import activities
from workflows.enrolment import payments, review
from workflows.enrolment.context import Enrolment

with workflow.unsafe.imports_passed_through():
    from microcred import money, policies
    from microcred.contracts import (
        CancelEnrolment,
        EnrolmentView,
        EventKind,
        ExtendDeadline,
        NotificationKind,
        ReassignReview,
        ResendInput,
        ResendNotification,
    )
    from microcred.errors import NotEligible
    from microcred.lifecycle import Trigger


async def extend_deadline(e: Enrolment, request: ExtendDeadline) -> EnrolmentView:
    s = e.state
    assert s.due_at is not None
    before = s.due_at
    s.extension += policies.add(before, request.by) - before
    s.reminders_sent = []  # reminders count down to the new deadline
    assert s.due_at is not None
    await e.record(
        EventKind.DEADLINE_EXTENDED,
        actor=request.actor,
        reason=request.reason,
        by=request.by,
        previous_due_at=before.isoformat(),
        due_at=s.due_at.isoformat(),
    )
    e.tell_member(
        NotificationKind.DEADLINE_EXTENDED,
        f"extended:{s.seq}",
        due_at=s.due_at.isoformat(),
        reason=request.reason,
    )
    return e.view()


async def reassign_review(e: Enrolment, request: ReassignReview) -> EnrolmentView:
    s = e.state
    moved = await review.hand_over(
        e,
        exclude=[e.member] + ([s.evaluator_id] if s.evaluator_id else []),
        preferred=request.evaluator_id,
        actor=request.actor,
        reason=request.reason,
    )
    if not moved:
        message = (
            "no other eligible evaluator can take this review"
            if request.evaluator_id is None
            else f"evaluator {request.evaluator_id} cannot take this review: not registered for this "
            "credential, off duty, the member themself, or already its evaluator"
        )
        raise NotEligible(message, evaluator_id=request.evaluator_id)
    return e.view()


async def cancel(e: Enrolment, request: CancelEnrolment) -> EnrolmentView:
    asked = request.refund if request.refund is not None else money.refund_by_policy(e.state)
    refund = money.last_payment(e.state) if asked else None  # nothing paid, nothing to refund
    await payments.close_on_ending(e, f"cancelled by an admin: {request.reason}")
    e.move(Trigger.CANCELLED)
    e.state.checkout = None
    await e.record(EventKind.CANCELLED, actor=request.actor, reason=request.reason, refund=refund is not None)
    if refund is not None:
        await payments.refund(e, refund, reason=f"cancelled by an admin: {request.reason}")
    e.tell_member(NotificationKind.CANCELLED, "cancelled", reason=request.reason)
    return e.view()


async def resend_notification(e: Enrolment, request: ResendNotification) -> None:
    await activities.resend(ResendInput(enrolment_id=e.id, notification_id=request.notification_id))
    await e.record(
        EventKind.NOTIFICATION_RESENT,
        actor=request.actor,
        reason=request.reason,
        notification_id=request.notification_id,
    )
