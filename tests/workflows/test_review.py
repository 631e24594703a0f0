"""Review: assignment, the evaluator reminder, the review SLA (with and without someone to
reassign to), unassigned reviews claimed, and every refusal of claim and decide."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import (
    ClaimRequest,
    DecisionRequest,
    FreezeInput,
    FreezeResult,
    Mark,
    Outcome,
    ReassignReview,
    RefundedElsewhere,
    Status,
    SubmitResult,
)
from microcred.db import SessionFactory
from microcred.documents import CredentialDoc
from microcred.errors import (
    AlreadyClaimed,
    InvalidState,
    MicrocredError,
    NotAssigned,
    NotEligible,
    RubricIncomplete,
    RubricInconsistent,
)
from microcred.temporal.names import Activity
from tests.support import credential_doc, member, publish, register_evaluator, uid
from tests.workflows.harness import (
    ADMINS,
    Enrolled,
    Gates,
    Harness,
    eventually,
    marks,
    real_activity,
    refused,
    running,
)

CLOSE = timedelta(minutes=1)


def two_evaluators(db: SessionFactory) -> tuple[CredentialDoc, str, str]:
    """A credential reviewed in P14D (reminder P3D before) and two evaluators, ``first`` first
    in id order (which breaks the tie of the least-loaded choice)."""
    doc = publish(db, credential_doc(review_window="P14D", evaluator_reminder_before="P3D"))
    first = register_evaluator(db, uid("a"), credential_ids=[doc.id])
    second = register_evaluator(db, uid("b"), credential_ids=[doc.id])
    return doc, first, second


async def assigned_review(h: Harness, doc: CredentialDoc, evaluator: str) -> tuple[Enrolled, SubmitResult]:
    """A new enrolment paid, submitted and assigned to ``evaluator``."""
    e = await h.enrol(doc)
    await h.paid(e)
    submitted = await h.submit(e)
    await h.assigned(e, evaluator)
    return e, submitted


async def test_sla_breach_flags_notifies_and_reassigns_to_another_evaluator(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc, first, second = two_evaluators(db)
    async with running(ts_env, db) as h:
        e, submitted = await assigned_review(h, doc, first)
        due = submitted.review_due_at

        # The evaluator reminder, P3D before the review is due.
        await h.advance_to(due - timedelta(days=3) - CLOSE)
        await h.quiet(e)
        assert not h.notes(e, "evaluator_reminder")
        await h.advance_to(due - timedelta(days=3) + CLOSE)
        [reminder] = await eventually(
            lambda: h.notes(e, "evaluator_reminder", first), what="evaluator reminder"
        )
        assert due - timedelta(days=3) <= reminder.created_at < due - timedelta(days=3) + CLOSE

        await h.advance_to(due - CLOSE)
        await h.quiet(e)
        assert h.row(e).review_overdue is False

        await h.advance_to(due + CLOSE)
        row = await eventually(
            lambda: h.row_if(e, review_overdue=True, evaluator_id=second), what="reassigned"
        )
        assert (row.status, row.review_due_at) == ("under_review", due)
        [overdue] = await eventually(lambda: h.notes(e, "review_overdue", ADMINS), what="admins told")
        assert due <= overdue.created_at < due + CLOSE
        assert first in overdue.body
        await eventually(lambda: h.notes(e, "evaluator_assigned", second), what="new evaluator told")
        [flagged] = h.timeline(e, "review_overdue")
        assert flagged.detail == {"evaluator_id": first}
        [moved] = h.timeline(e, "review_reassigned")
        assert moved.detail == {"evaluator_id": second, "previous": first, "reason": "review SLA breached"}
        state = await h.state(e)
        assert (state.evaluator_id, state.past_evaluator_ids, state.review_overdue) == (second, [first], True)

        await refused(h, e, h.decide(e, first), NotAssigned)
        decided = await h.decide(e, second)  # a decision after the window is still accepted
        assert decided.status is Status.APPROVED
        assert (await h.result(e)).status is Status.APPROVED


async def test_each_evaluator_is_reminded_and_none_once_the_review_is_overdue(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """A reassigned review reminds its new evaluator too; a review overdue before anyone holds
    it reminds no one (the admins were told): a reminder would name a date already passed."""
    doc, first, second = two_evaluators(db)
    async with running(ts_env, db) as h:
        e, submitted = await assigned_review(h, doc, first)
        await h.advance_to(submitted.review_due_at - timedelta(days=2))
        await eventually(lambda: h.notes(e, "evaluator_reminder", first), what="first reminded")
        await h.workflows.reassign_review(
            e.id, ReassignReview(actor="admin-1", reason="on leave", evaluator_id=second)
        )
        await eventually(lambda: h.notes(e, "evaluator_reminder", second), what="second reminded")
        reminded = [entry.detail for entry in h.timeline(e, "evaluator_reminded")]
        assert reminded == [{"evaluator_id": first}, {"evaluator_id": second}]

    late = publish(db, credential_doc(review_window="P14D", evaluator_reminder_before="P3D"))
    async with running(ts_env, db) as h:
        e = await h.enrol(late)
        await h.paid(e)
        submitted = await h.submit(e)  # nobody is registered for it: unassigned
        await h.advance_to(submitted.review_due_at + CLOSE)
        await eventually(lambda: h.row_if(e, review_overdue=True), what="flagged overdue")
        await h.quiet(e)
        claimer = register_evaluator(db, uid("c"), credential_ids=[late.id])
        await h.workflows.claim(e.id, ClaimRequest(evaluator_id=claimer))
        await h.quiet(e)
        assert h.notes(e, "evaluator_assigned", claimer)
        assert not h.notes(e, "evaluator_reminder")
        assert not h.timeline(e, "evaluator_reminded")


async def test_sla_breach_without_another_evaluator_keeps_the_review_and_tells_admins(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(review_window="P10D"))
    only = register_evaluator(db, credential_ids=[doc.id])
    register_evaluator(db, credential_ids=[publish(db).id])  # eligible for another credential only
    who = member()
    register_evaluator(db, who.sub, credential_ids=[doc.id])  # never of their own work
    async with running(ts_env, db) as h:
        e = await h.enrol(doc, who)
        await h.paid(e)
        submitted = await h.submit(e)
        await h.assigned(e, only)

        await h.advance_to(submitted.review_due_at + CLOSE)
        row = await eventually(lambda: h.row_if(e, review_overdue=True), what="flagged overdue")
        assert row.evaluator_id == only
        await eventually(lambda: h.notes(e, "review_overdue", ADMINS), what="admins told")
        await h.quiet(e)
        assert not h.timeline(e, "review_reassigned")
        assert len(h.notes(e, "evaluator_assigned")) == 1
        assert (await h.state(e)).past_evaluator_ids == []

        decided = await h.decide(e, only, unmet=["plan-c"])
        assert decided.status is Status.RESUBMISSION_REQUESTED
        assert h.row(e).review_overdue is True  # the record of the breach stays on the attempt


async def test_the_review_is_assigned_by_the_time_the_submit_answers(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.submit(e)
        # No waiting: the submission and its assignment were stored in one transaction, so no
        # queue ever showed this review claimable, and the workflow holds the same evaluator.
        row = h.row(e)
        assert (row.status, row.evaluator_id) == ("under_review", evaluator)
        assert (await h.state(e)).evaluator_id == evaluator
        kinds = [(entry.kind, entry.key) for entry in h.timeline(e)]
        submitted = kinds.index(("submitted", f"wf:{row.seq - 1}"))
        assert kinds[submitted + 1] == ("evaluator_assigned", f"wf:{row.seq}")
        assert h.timeline(e, "evaluator_assigned")[0].detail == {"evaluator_id": evaluator}
        assert (await h.decide(e, evaluator)).status is Status.APPROVED
        await eventually(lambda: h.notes(e, "evaluator_assigned", evaluator), what="evaluator told")


async def test_unassigned_review_tells_admins_and_an_eligible_evaluator_claims_it(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    other_credential = publish(db)
    outsider = register_evaluator(db, credential_ids=[other_credential.id])
    who = member()
    register_evaluator(db, who.sub, credential_ids=[doc.id])  # an evaluator too, never of their own work
    async with running(ts_env, db) as h:
        e = await h.enrol(doc, who)
        await h.paid(e)
        await h.submit(e)
        assert h.timeline(e, "review_unassigned")  # recorded with the submission
        [told] = await eventually(lambda: h.notes(e, "review_unassigned", ADMINS), what="admins told")
        assert e.id in told.body
        assert h.row(e).evaluator_id is None

        await refused(h, e, h.workflows.claim(e.id, ClaimRequest(evaluator_id=e.member.sub)), NotEligible)
        await refused(h, e, h.workflows.claim(e.id, ClaimRequest(evaluator_id=outsider)), NotEligible)
        await refused(h, e, h.workflows.claim(e.id, ClaimRequest(evaluator_id=uid("nobody"))), NotEligible)

        claimer = register_evaluator(db, credential_ids=[doc.id])  # registered since the submission
        view = await h.workflows.claim(e.id, ClaimRequest(evaluator_id=claimer))
        assert (view.evaluator_id, view.status) == (claimer, Status.UNDER_REVIEW)
        assert h.row(e).evaluator_id == claimer  # visible as soon as the claim answers
        [claimed] = h.timeline(e, "review_claimed")
        assert (claimed.actor, claimed.detail) == (claimer, {"evaluator_id": claimer})
        await eventually(lambda: h.notes(e, "evaluator_assigned", claimer), what="claimer told")

        late_comer = register_evaluator(db, credential_ids=[doc.id])
        error: MicrocredError = await refused(
            h, e, h.workflows.claim(e.id, ClaimRequest(evaluator_id=late_comer)), AlreadyClaimed
        )
        assert error.extra == {}, "who holds a review is nobody else's business"
        assert (await h.decide(e, claimer)).status is Status.APPROVED


async def test_claim_is_refused_outside_review(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        evaluator = register_evaluator(db, credential_ids=[doc.id])
        error = await refused(
            h, e, h.workflows.claim(e.id, ClaimRequest(evaluator_id=evaluator)), InvalidState
        )
        assert error.extra == {"status": "in_progress"}


async def test_every_decision_refusal_leaves_the_review_as_it_was(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    colleague = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        approve = DecisionRequest(evaluator_id=evaluator, outcome=Outcome.APPROVED, marks=marks(doc))
        error: MicrocredError = await refused(
            h, e, h.workflows.decide(e.id, approve), InvalidState
        )  # nothing submitted
        assert error.extra == {"status": "in_progress"}

        await h.submit(e)
        row = await eventually(lambda: h.row(e).evaluator_id, what="assigned")
        assigned, other = (evaluator, colleague) if row == evaluator else (colleague, evaluator)
        await h.assigned(e, assigned)

        def decide(outcome: Outcome, given: list[Mark], who: str = assigned) -> Awaitable[Any]:
            return h.workflows.decide(e.id, DecisionRequest(evaluator_id=who, outcome=outcome, marks=given))

        every = marks(doc)
        one_unmet = marks(doc, unmet=["plan-c"])
        await refused(h, e, decide(Outcome.APPROVED, every, who=other), NotAssigned)
        await refused(h, e, decide(Outcome.APPROVED, every, who=e.member.sub), NotAssigned)

        error = await refused(h, e, decide(Outcome.APPROVED, every[1:]), RubricIncomplete)
        assert error.extra["missing"] == ["plan-c"]
        error = await refused(
            h, e, decide(Outcome.APPROVED, [*every, Mark(criterion_id="made-up", met=True)]), RubricIncomplete
        )
        assert error.extra["unknown"] == ["made-up"]
        error = await refused(h, e, decide(Outcome.APPROVED, [*every, every[0]]), RubricIncomplete)
        assert error.extra["duplicated"] == ["plan-c"]

        error = await refused(h, e, decide(Outcome.APPROVED, one_unmet), RubricInconsistent)
        assert error.extra == {"unmet": ["plan-c"]}
        await refused(h, e, decide(Outcome.RESUBMIT, every), RubricInconsistent)
        silent = [m.model_copy(update={"comment": "  "}) if not m.met else m for m in one_unmet]
        error = await refused(h, e, decide(Outcome.RESUBMIT, silent), RubricInconsistent)
        assert error.extra == {"uncommented": ["plan-c"]}

        assert h.marks(e, 1) == {}
        submission = h.submission(e, 1)
        assert submission is not None and submission.outcome is None
        assert not h.timeline(e, "decided")

        assert (await decide(Outcome.RESUBMIT, one_unmet)).status is Status.RESUBMISSION_REQUESTED
        error = await refused(h, e, decide(Outcome.APPROVED, every), InvalidState)  # decided already
        assert error.extra == {"status": "resubmission_requested"}


async def test_an_approval_made_while_the_notifications_go_out_still_issues_the_badge(
    ts_env: WorkflowEnvironment, db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision lands while the run loop sends the submission's notifications (no lock is
    held then): the run must still perform the approval's duty, the badge, before it ends. It
    ended without one about 1 run in 6 (found by the API fuzz, tests/api/test_fuzz.py)."""
    gates = Gates(monkeypatch)
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, uid("e"), credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        gates.notices["evaluator_assigned"] = threading.Event()
        await h.submit(e)
        await gates.reach("notice:evaluator_assigned")  # the run loop is sending it, unlocked
        decided = await h.decide(e, evaluator)
        assert decided.status is Status.APPROVED
        gates.notices["evaluator_assigned"].set()

        result = await h.ended(e)
        assert (result.status, result.badge_id) == (Status.APPROVED, f"badge-{e.id}-1")
        assert len(h.notes(e, "badge_issued", e.member.sub)) == 1


async def test_a_signal_noted_while_the_submission_is_stored_is_kept(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """Found by the performance work: the submission put back a copy of the state taken before
    it waited for the store, so a signal noted meanwhile (here: the payment refunded at the
    provider) was lost, and a notification the run loop had sent was queued again."""
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, uid("e"), credential_ids=[doc.id])
    real = real_activity(ts_env, db, Activity.FREEZE_SUBMISSION)
    storing, release = asyncio.Event(), asyncio.Event()

    @activity.defn(name=Activity.FREEZE_SUBMISSION)
    async def freeze(inp: FreezeInput) -> FreezeResult:
        storing.set()
        await release.wait()
        result: FreezeResult = await asyncio.to_thread(real, inp)  # the real one is synchronous
        return result

    async with running(ts_env, db, override=[freeze]) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        submitting = asyncio.create_task(h.submit(e))
        await asyncio.wait_for(storing.wait(), 10)
        await h.workflows.payment_refunded_elsewhere(
            e.id, RefundedElsewhere(checkout_session_id=e.checkout_session_id)
        )
        release.set()
        await submitting
        await eventually(
            lambda: len(h.notes(e, "operator_alert", ADMINS)) == 1, what="the admins told of the refund"
        )
        await h.assigned(e, evaluator)
