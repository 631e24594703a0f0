"""The submission deadline: expiry from every state that can expire, member reminders, the
extension by time under review, and a submission that comes too late."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import EnrolmentResult, LatePayment, Status, SubmitRequest, SubmitResult
from microcred.db import SessionFactory
from microcred.models import Enrolment
from tests.support import credential_doc, publish, register_evaluator
from tests.workflows.harness import Enrolled, Harness, eventually, running

CLOSE = timedelta(minutes=1)  # how soon after its alarm a duty has been done (workflow time)


def expired_at(h: Harness, e: Enrolled) -> Enrolment:
    [event] = h.timeline(e, "expired")
    row = h.row(e)
    assert row.due_at is not None
    assert row.due_at <= event.at < row.due_at + CLOSE
    assert event.detail is not None and event.detail["due_at"] == row.due_at.isoformat()
    assert len(h.notes(e, "expired", e.member.sub)) == 1
    return row


async def test_expires_in_progress_at_the_deadline(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc(submission_window="P2M"))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.due_at is not None
        h.save(e, "plan-1", "started, never finished")

        await h.advance_to(paid.due_at - timedelta(seconds=5))
        await h.quiet(e)
        assert h.row(e).status == "in_progress"

        assert await h.result(e) == EnrolmentResult(status=Status.EXPIRED, attempt=1)
        row = expired_at(h, e)
        assert (row.status, row.due_at) == ("expired", paid.due_at)
        assert h.submission(e, 1) is None

        # After expiry a new purchase starts anew.
        again = await h.enrol(doc, e.member)
        assert again.id != e.id and h.row(again).status == "awaiting_payment"


async def resubmission_requested(h: Harness, e: Enrolled, evaluator: str, *, review: timedelta) -> Enrolment:
    paid = await h.paid(e)
    submitted = await h.submit(e)
    await h.assigned(e, evaluator)
    await h.advance(review)
    decided = await h.decide(e, evaluator, unmet=["plan-c"])
    row = h.row(e)
    assert paid.due_at is not None and row.due_at is not None and decided.due_at == row.due_at
    decision = h.submission(e, 1)
    assert decision is not None and decision.decided_at is not None
    # The deadline moved by exactly the time under review (submission to decision).
    under_review = decision.decided_at - submitted.submitted_at
    assert row.due_at - paid.due_at == under_review >= review
    assert (await h.state(e)).review_time == under_review
    return row


async def test_expires_while_a_resubmission_is_requested(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(submission_window="P2M"))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        requested = await resubmission_requested(h, e, evaluator, review=timedelta(days=3))
        assert requested.due_at is not None

        # Not at the deadline the purchase set: three days under review were added to it.
        await h.advance_to(requested.due_at - timedelta(days=3) + timedelta(hours=1))
        await h.quiet(e)
        assert h.row(e).status == "resubmission_requested"

        assert (await h.result(e)).status is Status.EXPIRED
        row = expired_at(h, e)
        assert row.due_at == requested.due_at


async def test_expires_while_the_resubmission_payment_is_awaited(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(submission_window="P2M", payment_window="PT24H"))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        requested = await resubmission_requested(h, e, evaluator, review=timedelta(days=1))
        assert requested.due_at is not None
        await h.advance_to(requested.due_at - timedelta(hours=2))
        checkout = await h.workflows.start_resubmission(e.id)
        assert checkout.checkout_session_id is not None
        session = checkout.checkout_session_id
        assert h.payments(e)[session].expires_at > requested.due_at  # the deadline comes first

        assert (await h.result(e)).status is Status.EXPIRED
        row = expired_at(h, e)
        assert (row.checkout_session_id, row.checkout_url) == (None, None)
        assert not h.timeline(e, "checkout_ended")

        # Paying the abandoned checkout now reaches no workflow: the webhook refunds it instead.
        assert await h.pay(e, session, amount=2900) is False
        await h.workflows.refund_late_payment(
            LatePayment(
                enrolment_id=e.id,
                member_id=e.member.sub,
                credential_title=doc.title,
                checkout_session_id=session,
                amount=2900,
                currency="usd",
                reason="the enrolment expired",
            )
        )
        await eventually(lambda: h.payments(e)[session].status == "refunded", what="refunded")
        await eventually(lambda: h.notes(e, "payment_refunded", e.member.sub), what="member told")


async def test_member_reminders_fire_at_their_offsets_before_the_deadline(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(submission_window="P2M", reminders_before_due=["P30D", "P7D"]))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.due_at is not None
        due = paid.due_at

        for sent, (offset, days) in enumerate((("P30D", 30), ("P7D", 7)), start=1):
            moment = due - timedelta(days=days)
            await h.advance_to(moment - CLOSE)
            await h.quiet(e)
            assert len(h.notes(e, "due_reminder")) == sent - 1  # not yet
            await h.advance_to(moment + CLOSE)
            notes = await h.notes_counted(e, "due_reminder", sent)
            assert notes[-1].recipient_id == e.member.sub
            assert moment <= notes[-1].created_at < moment + CLOSE
            assert h.timeline(e, "reminder_sent")[-1].detail == {
                "before_due": offset,
                "due_at": due.isoformat(),
            }
        assert await h.result(e) == EnrolmentResult(status=Status.EXPIRED, attempt=1)
        assert len(h.notes(e, "due_reminder")) == 2


async def test_no_member_reminder_under_review_and_reminders_follow_the_extended_deadline(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(
        db,
        credential_doc(submission_window="P2M", review_window="P90D", reminders_before_due=["P30D", "P7D"]),
    )
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.due_at is not None
        await h.submit(e)
        await h.assigned(e, evaluator)
        # The whole original window passes under review: the work is the evaluator's, not the member's.
        await h.advance_to(paid.due_at + timedelta(days=1))
        await h.quiet(e)
        assert not h.notes(e, "due_reminder")
        assert h.row(e).status == "under_review"

        await h.decide(e, evaluator, unmet=["reflect-d"])
        row = h.row(e)
        assert row.due_at is not None and row.due_at > paid.due_at + timedelta(days=1)
        await h.advance_to(row.due_at - timedelta(days=30) + CLOSE)
        [reminder] = await eventually(lambda: h.notes(e, "due_reminder", e.member.sub), what="reminder")
        assert (
            row.due_at - timedelta(days=30) <= reminder.created_at < row.due_at - timedelta(days=30) + CLOSE
        )
        assert h.timeline(e, "reminder_sent")[0].detail == {
            "before_due": "P30D",
            "due_at": row.due_at.isoformat(),
        }


async def test_a_submission_after_the_deadline_is_refused(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """The deadline check of submit itself, not only the expiry that follows it.

    The worker is stopped while the deadline passes; the submission then reaches the workflow in
    the same task as the deadline's timer, and updates are handled before timers.
    """
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=[]))
    async with running(ts_env, db, keep=True, cache=False) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.due_at is not None
        for task_id in h.required_tasks(e):
            h.save(e, task_id)
        await h.quiet(e)
    await h.advance_to(paid.due_at + timedelta(seconds=1))

    request = SubmitRequest(agree_terms=True, answered_task_ids=h.required_tasks(e))

    # By name, as a client without the workflow class would (typed as the result it answers).
    late = asyncio.create_task(
        h.handle(e).execute_update("submit", request, id="late-submit", result_type=SubmitResult)
    )
    await _admitted(h, e, "late-submit")
    async with running(ts_env, db, task_queue=h.task_queue) as restarted:
        restarted.started.append(e.workflow_id)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await late
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert (cause.type, cause.message) == ("InvalidState", "the submission deadline has passed")
        assert cause.details[0] == {"status": "in_progress"}  # refused before the expiry ran
        assert (await restarted.result(e)).status is Status.EXPIRED
        assert restarted.submission(e, 1) is None
        assert not restarted.timeline(e, "submitted")


async def _admitted(h: Harness, e: Enrolled, update_id: str) -> None:
    """Wait until the server holds the update (no worker runs to accept it yet)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=h.env.client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=e.workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )
    for _ in range(200):
        try:
            await h.env.client.workflow_service.poll_workflow_execution_update(request)
            return
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.02)
    raise AssertionError("the update never reached the server")
