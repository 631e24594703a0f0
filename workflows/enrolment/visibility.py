"""What the outside sees of an enrolment's workflow: the read-model row the store writes, the
search attributes and current details operators find it by in the Temporal UI, and the log
line and business counter of each recorded change."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from microcred import duties
    from microcred.contracts import (
        CheckoutInfo,
        CredentialOutline,
        EnrolmentState,
        EnrolmentView,
        EventKind,
        TimelineEvent,
    )
    from microcred.lifecycle import Status
    from microcred.temporal import names

# Business counters, exported with the SDK's metrics by the worker's runtime (replay-safe).
COUNTERS: dict[EventKind, tuple[str, str]] = {
    EventKind.PAYMENT_CONFIRMED: ("microcred_purchases", "Purchases paid, first and resubmission."),
    EventKind.ATTEMPT_STARTED: ("microcred_purchases", "Purchases paid, first and resubmission."),
    EventKind.SUBMITTED: ("microcred_submissions", "Attempts submitted for review."),
    EventKind.DECIDED: ("microcred_decisions", "Review decisions, by outcome."),
    EventKind.EXPIRED: ("microcred_expiries", "Enrolments whose submission window ran out."),
    EventKind.REVIEW_OVERDUE: ("microcred_review_sla_breaches", "Reviews past their due date."),
    EventKind.BADGE_ISSUED: ("microcred_badges_issued", "Badges issued."),
    EventKind.CANCELLED: ("microcred_cancellations", "Enrolments cancelled."),
    EventKind.PAYMENT_REFUNDED: ("microcred_refunds", "Payments refunded by the workflow."),
}

WAITS = {
    Status.AWAITING_PAYMENT: "Waiting for the member to pay the checkout",
    Status.IN_PROGRESS: "Waiting for the member to submit",
    Status.UNDER_REVIEW: "Waiting for the evaluator's decision",
    Status.RESUBMISSION_REQUESTED: "Waiting for the member to start the resubmission",
    Status.AWAITING_RESUBMISSION_PAYMENT: "Waiting for the resubmission payment",
}
WHEN = "%Y-%m-%d %H:%M UTC"


def payable_url(s: EnrolmentState) -> str | None:
    """The checkout page, while it can still be paid (not once a payment is processing)."""
    return s.checkout.url if s.checkout and s.checkout.held_until is None else None


def checkout_info(s: EnrolmentState) -> CheckoutInfo:
    """What the member's checkout page needs: the status, and where to pay while one can."""
    session_id = s.checkout.session_id if s.checkout else None
    return CheckoutInfo(status=s.status, checkout_url=payable_url(s), checkout_session_id=session_id)


def view(enrolment_id: str, s: EnrolmentState) -> EnrolmentView:
    """The read-model row of the enrolment in state ``s``."""
    paying = s.status.awaiting_payment
    return EnrolmentView(
        enrolment_id=enrolment_id,
        seq=s.seq,
        status=s.status,
        attempt=s.attempt,
        purchased_at=s.purchased_at,
        due_at=s.due_at,
        submitted_at=s.submitted_at,
        review_due_at=s.review_due_at,
        decision=s.decision,
        evaluator_id=s.evaluator_id,
        review_overdue=s.review_overdue,
        checkout_session_id=s.checkout.session_id if paying and s.checkout else None,
        checkout_url=payable_url(s) if paying else None,
        badge_id=s.badge_id,
        editable_sections=None if s.attempt == 1 else list(s.unmet_sections),
    )


def publish(member_id: str, credential: CredentialOutline, s: EnrolmentState) -> None:
    """Keep the search attributes and the UI's current details in step with the state.

    Each upsert is a visibility write on the server, so only the values that differ from what
    the workflow holds (the start's, a previous run's, the last upsert's) are sent.
    """
    wanted: list[SearchAttributeUpdate[Any]] = [
        names.ENROLMENT_STATUS.value_set(s.status.value),
        names.MEMBER_ID.value_set(member_id),
        names.CREDENTIAL_ID.value_set(credential.id),
        names.REVIEW_OVERDUE.value_set(s.review_overdue),
        names.DUE_AT.value_set(s.due_at) if s.due_at else names.DUE_AT.value_unset(),
        names.REVIEW_DUE_AT.value_set(s.review_due_at)
        if s.review_due_at and s.status is Status.UNDER_REVIEW
        else names.REVIEW_DUE_AT.value_unset(),
        names.EVALUATOR_ID.value_set(s.evaluator_id) if s.evaluator_id else names.EVALUATOR_ID.value_unset(),
    ]
    held = workflow.info().typed_search_attributes
    changed = [u for u in wanted if held.get(u.key) != u.value]
    if changed:
        workflow.upsert_search_attributes(changed)
    workflow.set_current_details(details(member_id, credential, s))


def details(member_id: str, credential: CredentialOutline, s: EnrolmentState) -> str:
    """Where the enrolment stands and what it waits for, in words (Markdown, for the UI)."""
    lines = [f"**{s.status.value}** · {credential.title} · attempt {s.attempt} · member `{member_id}`"]
    if s.status in WAITS:
        lines.append(WAITS[s.status] + ".")
    if s.status is Status.UNDER_REVIEW and s.review_due_at:
        who = f"`{s.evaluator_id}`" if s.evaluator_id else "nobody yet (claimable)"
        overdue = " **OVERDUE**" if s.review_overdue else ""
        lines.append(f"Assigned to {who}; review due {s.review_due_at:{WHEN}}{overdue}.")
    if s.due_at is not None and not s.status.terminal:
        lines.append(f"Submission deadline {s.due_at:{WHEN}} (time under review is added).")
    alarm = duties.next_alarm(s, credential)
    if alarm is not None:
        lines.append(f"Next: {alarm.label} at {alarm.at:{WHEN}}.")
    if s.status.terminal:
        lines.append("Finished." + (f" Badge `{s.badge_id}`." if s.badge_id else ""))
    return "\n\n".join(lines)


def observe(enrolment_id: str, credential_id: str, s: EnrolmentState, event: TimelineEvent) -> None:
    """Log a recorded change and count it (neither happens again on replay)."""
    workflow.logger.info(
        "enrolment %s: %s",
        enrolment_id,
        event.kind.value,
        extra={
            "enrolment_id": enrolment_id,
            "event": event.kind.value,
            "status": s.status.value,
            "attempt": s.attempt,
            "actor": event.actor,
        },
    )
    counter = COUNTERS.get(event.kind)
    if counter is not None:
        labels = {"credential_id": credential_id}
        for key in ("kind", "outcome"):
            if key in event.detail:
                labels[key] = str(event.detail[key])
        workflow.metric_meter().create_counter(*counter).add(1, labels)
