"""Operator repairs (admins). Each is a validated workflow update, recorded in the timeline
with who did it and why; the same updates are available as ``temporal workflow update``."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, StateDep
from api.errors import documented
from api.schemas import AdminReason, Cancellation, DeadlineExtension, EnrolmentStatePublic, ReviewReassignment
from microcred.contracts import EnrolmentView
from microcred.services import repairs

router = APIRouter(prefix="/admin/enrolments/{enrolment_id}", tags=["operators"])


def _public(view: EnrolmentView) -> EnrolmentStatePublic:
    return EnrolmentStatePublic.model_validate(view.model_dump())


@router.post(
    "/deadline-extension",
    response_model=EnrolmentStatePublic,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def extend_deadline(
    enrolment_id: str, body: DeadlineExtension, state: StateDep, admin: AdminDep
) -> EnrolmentStatePublic:
    """Move the member's submission deadline later by an ISO 8601 duration, with a reason."""
    view = await repairs.extend_deadline(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        actor=admin.sub,
        by=body.by,
        reason=body.reason,
    )
    return _public(view)


@router.post(
    "/reassignment", response_model=EnrolmentStatePublic, responses=documented(401, 403, 404, 409, 422, 503)
)
async def reassign_review(
    enrolment_id: str, body: ReviewReassignment, state: StateDep, admin: AdminDep
) -> EnrolmentStatePublic:
    """Give the open review to another eligible evaluator on duty (a named one, or the least
    loaded). 403 ``not_eligible`` when the named one cannot take it (off duty, say)."""
    view = await repairs.reassign_review(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        actor=admin.sub,
        evaluator_id=body.evaluator_id,
        reason=body.reason,
    )
    return _public(view)


@router.post(
    "/cancellation", response_model=EnrolmentStatePublic, responses=documented(401, 403, 404, 409, 422, 503)
)
async def cancel_enrolment(
    enrolment_id: str, body: Cancellation, state: StateDep, admin: AdminDep
) -> EnrolmentStatePublic:
    """Cancel the enrolment; the current attempt's payment is refunded unless it was already reviewed."""
    view = await repairs.cancel(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        actor=admin.sub,
        refund=body.refund,
        reason=body.reason,
    )
    return _public(view)


@router.post(
    "/notifications/{notification_id}/resend",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def resend_notification(
    enrolment_id: str, notification_id: str, body: AdminReason, state: StateDep, admin: AdminDep
) -> None:
    """Send one of the enrolment's notifications again (recorded anew, and mailed when SMTP is on)."""
    await repairs.resend_notification(
        sessions=state.sessions,
        workflows=state.workflows,
        enrolment_id=enrolment_id,
        actor=admin.sub,
        notification_id=notification_id,
        reason=body.reason,
    )
