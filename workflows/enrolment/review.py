"""The review of an attempt: the submission, who evaluates it (assignment, claim, hand-over),
their reminder, the review's SLA, and the decision."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from workflows import activities
from workflows.enrolment.context import Enrolment

with workflow.unsafe.imports_passed_through():
    from microcred import policies, rules
    from microcred.contracts import (
        AssignInput,
        Audience,
        ClaimRequest,
        DecisionInput,
        DecisionRequest,
        DecisionResult,
        EnrolmentView,
        EventKind,
        FreezeInput,
        MarkRecord,
        NotificationKind,
        Outcome,
        SubmitRequest,
        SubmitResult,
        TimelineEvent,
    )
    from microcred.errors import NotEligible
    from microcred.lifecycle import Trigger

# Patches (docs/workflow-versioning.md). The submission replaced the state with a copy taken
# before its awaits, losing what signals noted and the notifications the run loop sent meanwhile.
SUBMIT_KEEPS_WHAT_WENT_ON = "submit-keeps-what-went-on"


async def submit(e: Enrolment, request: SubmitRequest) -> SubmitResult:
    """Freeze the responses as this attempt's submission, with the evaluator who reviews it.

    Picked first and stored with the submission in one transaction: the review reaches the
    evaluators' queues assigned, never claimable for a moment first. Nothing changes here
    until the store has accepted (its checks under the row lock may still refuse).
    """
    now = workflow.now()
    nxt = e.state.model_copy(deep=True)
    e.move(Trigger.SUBMITTED, nxt)
    nxt.submitted_at = now
    nxt.review_due_at = policies.add(now, e.credential.policies.review_window)
    nxt.decision = None if nxt.attempt == 1 else nxt.decision
    nxt.evaluator_id = await assign(e, exclude=[])
    nxt.seq += 2  # the submission and the assignment
    submitted = e.event(EventKind.SUBMITTED, e.member, attempt=nxt.attempt)
    assignment = _assignment_event(e, nxt.evaluator_id)
    await activities.freeze_submission(
        FreezeInput(
            view=e.view(nxt),
            event=submitted,
            required_task_ids=[t for section in e.credential.sections for t in section.required_task_ids],
            assignment=assignment,
        )
    )
    if workflow.patched(SUBMIT_KEEPS_WHAT_WENT_ON):
        # What went on meanwhile outside the lock stays: signals noted, notifications sent.
        nxt.arrivals, nxt.outbox = e.state.arrivals, e.state.outbox
    e.state = nxt
    e.observe(submitted)
    e.observe(assignment)
    assert nxt.review_due_at is not None
    e.tell_member(
        NotificationKind.SUBMISSION_RECEIVED,
        f"submitted:{nxt.attempt}",
        review_due_at=nxt.review_due_at.isoformat(),
    )
    _tell_assignment(e)
    e.changed()
    return SubmitResult(
        status=nxt.status, attempt=nxt.attempt, submitted_at=now, review_due_at=nxt.review_due_at
    )


async def assign(e: Enrolment, *, exclude: list[str], preferred: str | None = None) -> str | None:
    """The eligible evaluator with the fewest open reviews (or ``preferred``, when eligible)."""
    return await activities.assign_evaluator(
        AssignInput(
            enrolment_id=e.id,
            attempt=e.state.attempt,
            credential_id=e.credential.id,
            member_id=e.member,
            exclude=exclude,
            preferred=preferred,
        )
    )


def _assignment_event(e: Enrolment, evaluator_id: str | None) -> TimelineEvent:
    if evaluator_id is None:
        return e.event(EventKind.REVIEW_UNASSIGNED, None)
    return e.event(EventKind.EVALUATOR_ASSIGNED, None, evaluator_id=evaluator_id)


def _tell_assignment(e: Enrolment) -> None:
    """Tell the assigned evaluator; with nobody eligible, tell the admins."""
    s = e.state
    if s.evaluator_id is not None:
        _tell_evaluator(e, s.evaluator_id)
    else:
        e.notify(NotificationKind.REVIEW_UNASSIGNED, Audience.ADMINS, None, f"unassigned:{s.attempt}")


def _tell_evaluator(e: Enrolment, evaluator_id: str) -> None:
    s = e.state
    assert s.review_due_at is not None
    e.notify(
        NotificationKind.EVALUATOR_ASSIGNED,
        Audience.EVALUATOR,
        evaluator_id,
        f"assigned:{s.attempt}:{evaluator_id}",
        review_due_at=s.review_due_at.isoformat(),
    )


async def claim(e: Enrolment, request: ClaimRequest) -> EnrolmentView:
    chosen = await assign(e, exclude=[e.member], preferred=request.evaluator_id)
    if chosen != request.evaluator_id:
        raise NotEligible("you are not registered to evaluate this credential")
    e.state.evaluator_id = chosen
    await e.record(EventKind.REVIEW_CLAIMED, actor=chosen, evaluator_id=chosen)
    _tell_evaluator(e, chosen)
    return e.view()


async def hand_over(
    e: Enrolment, *, exclude: list[str], preferred: str | None, actor: str | None, reason: str
) -> bool:
    """Give the review to another eligible evaluator; False when there is none to take it."""
    s = e.state
    chosen = await assign(e, exclude=exclude, preferred=preferred)
    if chosen is None or chosen == s.evaluator_id:
        return False
    previous = s.evaluator_id
    if previous is not None:
        s.past_evaluator_ids.append(previous)
    s.evaluator_id = chosen
    s.evaluator_reminded = False  # each evaluator gets their own reminder
    await e.record(
        EventKind.REVIEW_REASSIGNED, actor=actor, evaluator_id=chosen, previous=previous, reason=reason
    )
    _tell_evaluator(e, chosen)
    return True


async def remind_evaluator(e: Enrolment, now: datetime) -> None:
    s = e.state
    assert s.review_due_at is not None and s.evaluator_id is not None
    s.evaluator_reminded = True
    # Past its due date the admins are told instead (the overdue flag): a reminder would name
    # a date already passed.
    if now < s.review_due_at:
        await e.record(EventKind.EVALUATOR_REMINDED, evaluator_id=s.evaluator_id)
        e.notify(
            NotificationKind.EVALUATOR_REMINDER,
            Audience.EVALUATOR,
            s.evaluator_id,
            f"evaluator-reminder:{s.attempt}:{s.evaluator_id}",
            review_due_at=s.review_due_at.isoformat(),
        )


async def flag_overdue(e: Enrolment) -> None:
    """The review SLA is breached: the admins are told, and another eligible evaluator takes it
    over (for an unassigned review: anyone who has become eligible since it was submitted)."""
    s = e.state
    assert s.review_due_at is not None
    s.review_overdue = True
    late = s.evaluator_id
    await e.record(EventKind.REVIEW_OVERDUE, evaluator_id=late)
    e.notify(
        NotificationKind.REVIEW_OVERDUE,
        Audience.ADMINS,
        None,
        f"overdue:{s.attempt}",
        evaluator_id=late,
        review_due_at=s.review_due_at.isoformat(),
    )
    await hand_over(
        e,
        exclude=[x for x in (late, *s.past_evaluator_ids) if x is not None],
        preferred=None,
        actor=None,
        reason="review SLA breached",
    )


async def decide(e: Enrolment, request: DecisionRequest) -> DecisionResult:
    s, now = e.state, workflow.now()
    assert s.submitted_at is not None
    s.review_time += now - s.submitted_at  # an evaluator's time never costs the member
    s.decision = request.outcome
    if request.outcome is Outcome.APPROVED:
        e.move(Trigger.APPROVED)
    else:
        e.move(Trigger.RESUBMISSION_REQUESTED)
        s.unmet_sections = rules.unmet_sections(e.credential, request)
    s.seq += 1
    decided = e.event(
        EventKind.DECIDED, request.evaluator_id, outcome=request.outcome.value, attempt=s.attempt
    )
    await activities.record_decision(
        DecisionInput(
            view=e.view(),
            event=decided,
            evaluator_id=request.evaluator_id,
            outcome=request.outcome,
            marks=[
                MarkRecord(
                    criterion_id=m.criterion_id,
                    section_id=e.credential.section_of_criterion(m.criterion_id) or "",
                    met=m.met,
                    comment=m.comment,
                )
                for m in request.marks
            ],
            feedback=request.feedback,
        )
    )
    e.observe(decided)
    e.tell_member(
        NotificationKind.DECISION,
        f"decision:{s.attempt}",
        outcome=request.outcome.value,
        due_at=s.due_at.isoformat() if s.due_at else None,
        unmet_sections=s.unmet_sections if request.outcome is Outcome.RESUBMIT else [],
    )
    e.changed()
    return DecisionResult(status=s.status, decision=request.outcome, attempt=s.attempt, due_at=s.due_at)
