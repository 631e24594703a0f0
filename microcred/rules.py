"""The rules each message to an enrolment must meet, with no I/O: the workflow's validators run
them before anything changes (and its handlers again, under the lock), the services share them.
Each raises the domain error that tells the caller what is wrong."""

from __future__ import annotations

from datetime import datetime, timedelta

from microcred import policies, text
from microcred.contracts import (
    AdminAction,
    CancelEnrolment,
    ClaimRequest,
    CredentialOutline,
    DecisionRequest,
    EnrolmentState,
    ExtendDeadline,
    Outcome,
    ReassignReview,
    SubmitRequest,
)
from microcred.errors import (
    AlreadyClaimed,
    InvalidRequest,
    InvalidState,
    InvalidText,
    NotAssigned,
    NotEligible,
    RubricIncomplete,
    RubricInconsistent,
    TasksIncomplete,
    TermsNotAgreed,
)
from microcred.lifecycle import Status


def require_status(state: EnrolmentState, *allowed: Status, action: str) -> None:
    if state.status not in allowed:
        raise InvalidState(
            f"cannot {action} while the enrolment is {state.status.value}",
            status=state.status.value,
        )


def check_submit(
    state: EnrolmentState, request: SubmitRequest, outline: CredentialOutline, now: datetime
) -> None:
    """Submit needs in_progress, a deadline not yet passed, agreed terms and every required task."""
    require_status(state, Status.IN_PROGRESS, action="submit")
    if state.due_at is not None and now >= state.due_at:
        raise InvalidState("the submission deadline has passed", status=state.status.value)
    if not request.agree_terms:
        raise TermsNotAgreed("agree to the terms and conditions to submit")
    answered = set(request.answered_task_ids)
    missing = [t for s in outline.sections for t in s.required_task_ids if t not in answered]
    if missing:
        raise TasksIncomplete("answer every required task before submitting", tasks=missing)


def check_text(**fields: str | None) -> None:
    """Text with no control character: the API refuses them at its boundary; this catches a
    message sent another way (an operator's ``temporal workflow update``)."""
    for name, value in fields.items():
        if value is not None and not text.clean(value):
            raise InvalidText(f"{text.describe(value)} is not allowed in text", field=name)


def check_decision(state: EnrolmentState, request: DecisionRequest, outline: CredentialOutline) -> None:
    """Only the assigned evaluator decides under review, marking every criterion consistently."""
    check_text(
        feedback=request.feedback, **{f"marks[{i}].comment": m.comment for i, m in enumerate(request.marks)}
    )
    require_status(state, Status.UNDER_REVIEW, action="decide")
    if state.evaluator_id != request.evaluator_id:
        raise NotAssigned("only the evaluator assigned to this review can decide it")
    known = outline.criterion_ids
    marked = [m.criterion_id for m in request.marks]
    unknown = sorted(set(marked) - set(known))
    duplicates = sorted({c for c in marked if marked.count(c) > 1})
    missing = [c for c in known if c not in marked]
    if unknown or duplicates or missing:
        raise RubricIncomplete(
            "mark every rubric criterion exactly once",
            missing=missing,
            unknown=unknown,
            duplicated=duplicates,
        )
    unmet = [m for m in request.marks if not m.met]
    if request.outcome is Outcome.APPROVED and unmet:
        raise RubricInconsistent("approval needs every criterion met", unmet=[m.criterion_id for m in unmet])
    if request.outcome is Outcome.RESUBMIT:
        if not unmet:
            raise RubricInconsistent("a resubmission request needs at least one unmet criterion")
        silent = [m.criterion_id for m in unmet if not m.comment.strip()]
        if silent:
            raise RubricInconsistent("every unmet criterion needs a comment", uncommented=silent)


def unmet_sections(outline: CredentialOutline, request: DecisionRequest) -> list[str]:
    """The sections the member edits on the next attempt: those with an unmet criterion."""
    unmet = {m.criterion_id for m in request.marks if not m.met}
    return [s.id for s in outline.sections if unmet.intersection(s.criterion_ids)]


def check_resubmission_start(state: EnrolmentState, now: datetime) -> None:
    """A resubmission starts after a "Request to resubmit", before the deadline (or is started
    already: a second click is answered with its checkout, once the first has opened it)."""
    if state.status is Status.AWAITING_RESUBMISSION_PAYMENT:
        return
    require_status(state, Status.RESUBMISSION_REQUESTED, action="start a resubmission")
    if state.due_at is not None and now >= state.due_at:
        raise InvalidState("the submission deadline has passed", status=state.status.value)


def check_claim(state: EnrolmentState, member_id: str, request: ClaimRequest) -> None:
    """An unassigned review under review, claimed by someone other than its member."""
    require_status(state, Status.UNDER_REVIEW, action="claim the review")
    if request.evaluator_id == member_id:
        raise NotEligible("members never evaluate their own work")
    if state.evaluator_id is not None:
        raise AlreadyClaimed("this review is already assigned")


def check_extend(state: EnrolmentState, request: ExtendDeadline) -> None:
    """A paid, unfinished enrolment's deadline, moved later by a bounded duration."""
    check_admin_action(request)
    if state.status.terminal or state.due_at is None:
        raise InvalidState(
            "only a paid, unfinished enrolment has a deadline to extend", status=state.status.value
        )
    try:
        length = policies.approximate(request.by)
        policies.check_bounded(request.by)
    except policies.InvalidDuration as exc:
        raise InvalidRequest(str(exc)) from exc
    if length <= timedelta(0):
        raise InvalidRequest("the extension must be longer than zero")
    try:
        # A century of calendar is left beyond it: time under review moves the deadline later,
        # and that must never pass the end of the calendar (a later step would fail).
        policies.add(policies.add(state.due_at, request.by), policies.LONGEST)
    except (ValueError, OverflowError) as exc:
        raise InvalidRequest(
            f"the extended deadline would lie within {policies.LONGEST} of the year 9999"
        ) from exc


def check_reassign(state: EnrolmentState, member_id: str, request: ReassignReview) -> None:
    """A review under review, handed to someone other than its evaluator and its member."""
    check_admin_action(request)
    require_status(state, Status.UNDER_REVIEW, action="reassign the review")
    if request.evaluator_id is not None and request.evaluator_id == state.evaluator_id:
        raise InvalidState("the review is already assigned to that evaluator", status=state.status.value)
    if request.evaluator_id == member_id:
        raise NotEligible("members never evaluate their own work")


def check_admin_action(request: AdminAction) -> None:
    """Every repair says who and why, in clean text."""
    check_text(actor=request.actor, reason=request.reason)


def check_cancel(state: EnrolmentState, request: CancelEnrolment) -> None:
    check_admin_action(request)
    if state.status.terminal:
        raise InvalidState("the enrolment is already finished", status=state.status.value)


def check_checkout(state: EnrolmentState) -> None:
    if not state.status.awaiting_payment:
        raise InvalidState("no checkout is open", status=state.status.value)
