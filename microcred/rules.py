"""Lifecycle rules that need no I/O: shared by the workflow (validators) and the services."""

from __future__ import annotations

from datetime import datetime

from microcred.contracts import (
    CredentialOutline,
    DecisionRequest,
    EnrolmentState,
    Outcome,
    Status,
    SubmitRequest,
)
from microcred.errors import (
    InvalidState,
    NotAssigned,
    RubricIncomplete,
    RubricInconsistent,
    TasksIncomplete,
    TermsNotAgreed,
)


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


def check_decision(state: EnrolmentState, request: DecisionRequest, outline: CredentialOutline) -> None:
    """Only the assigned evaluator decides under review, marking every criterion consistently."""
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
