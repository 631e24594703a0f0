"""Resubmission: the marked rubric, the resubmission checkout and its payment window, stale
payments, editing only the failed sections, and the continue-as-new into the new attempt."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import Checkout, CheckoutEnded, CheckoutRequest, EnrolmentResult, Status
from microcred.db import SessionFactory
from microcred.errors import InvalidState, NotEditable
from microcred.temporal.names import Activity
from tests.support import credential_doc, publish, register_evaluator
from tests.workflows.harness import ADMINS, Enrolled, Harness, eventually, real_activity, refused, running
from workflows.enrolment import EnrolmentWorkflow


async def resubmission_requested(h: Harness, evaluator: str, e: Enrolled) -> None:
    """Pay, submit, and have ``evaluator`` fail the reflect section's first criterion."""
    await h.paid(e)
    await h.submit(e)
    await h.assigned(e, evaluator)
    decided = await h.decide(e, evaluator, unmet=["reflect-c"])
    assert decided.status is Status.RESUBMISSION_REQUESTED


async def resubmission_started_an_hour_before_the_deadline(
    h: Harness, evaluator: str, e: Enrolled
) -> tuple[datetime, str]:
    """The enrolment's deadline, and the resubmission checkout session opened an hour before it."""
    await resubmission_requested(h, evaluator, e)
    due_at = h.row(e).due_at
    assert due_at is not None
    await h.advance_to(due_at - timedelta(hours=1))
    checkout = await h.workflows.start_resubmission(e.id)
    assert checkout.checkout_session_id is not None
    return due_at, checkout.checkout_session_id


async def run_ids(h: Harness, e: Enrolled) -> list[str]:
    """The run ids of the enrolment's chain of runs, first to latest."""
    ids: list[str] = []
    run_id: str | None = None
    while True:
        history = await h.handle(e, run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        ids.insert(0, started.original_execution_run_id)
        if not started.continued_execution_run_id:
            return ids
        run_id = started.continued_execution_run_id


async def runs(h: Harness, e: Enrolled, *, count: int) -> list[str]:
    """Wait for the chain to reach ``count`` runs."""
    for _ in range(200):
        chain = await run_ids(h, e)
        if len(chain) >= count:
            return chain
        await asyncio.sleep(0.05)
    raise AssertionError(f"the enrolment did not reach {count} runs")


async def test_resubmission_edits_only_failed_sections_and_continues_as_new(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await resubmission_requested(h, evaluator, e)
        requested = h.row(e)
        assert (requested.status, requested.decision, requested.attempt) == (
            "resubmission_requested",
            "resubmit",
            1,
        )
        marks = h.marks(e, 1)
        assert {c: m.met for c, m in marks.items()} == {"plan-c": True, "reflect-c": False, "reflect-d": True}
        assert marks["reflect-c"].comment == "needs work" and marks["reflect-c"].section_id == "reflect"
        [decision_note] = await eventually(lambda: h.notes(e, "decision", e.member.sub), what="decision told")
        assert "reflect" in decision_note.body
        with pytest.raises(NotEditable):
            h.save(e, "reflect-1", "not before paying")
        assert len(await run_ids(h, e)) == 1

        checkout = await h.workflows.start_resubmission(e.id)
        assert checkout.status is Status.AWAITING_RESUBMISSION_PAYMENT
        assert checkout.checkout_session_id and checkout.checkout_session_id != e.checkout_session_id
        row = h.row(e)
        assert (row.status, row.checkout_session_id, row.checkout_url) == (
            "awaiting_resubmission_payment",
            checkout.checkout_session_id,
            checkout.checkout_url,
        )
        payment = h.payments(e)[checkout.checkout_session_id]
        assert (payment.kind, payment.amount, payment.status) == ("resubmission", 2900, "open")
        with pytest.raises(NotEditable):
            h.save(e, "reflect-1", "not before paying")

        await h.pay(e, checkout.checkout_session_id, amount=2900)
        second = await eventually(lambda: h.row_if(e, status="in_progress", attempt=2), what="attempt 2")
        assert second.editable_sections == ["reflect"]
        assert second.decision == "resubmit"  # the last decision stays visible
        await eventually(lambda: h.timeline(e, "attempt_started"), what="attempt started")

        # The new attempt continued as new: same workflow id, a second run that carries the whole state.
        chain = await runs(h, e, count=2)
        assert len(chain) == 2 and chain[0] != chain[1]
        old_state = await h.handle(e, chain[0]).query(EnrolmentWorkflow.state)  # as it continued as new
        new_state = await h.handle(e, chain[1]).query(EnrolmentWorkflow.state)
        assert new_state == old_state
        latest = await h.state(e)  # the handle without a run id follows the chain
        assert latest == new_state
        assert (latest.attempt, latest.status, latest.unmet_sections) == (2, Status.IN_PROGRESS, ["reflect"])
        assert [p.checkout_session_id for p in latest.paid_payments] == [
            e.checkout_session_id,
            checkout.checkout_session_id,
        ]
        first_history = await h.handle(e, chain[0]).fetch_history()
        assert first_history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

        # Only the tasks of the failed section are editable now; the approved work is kept.
        with pytest.raises(NotEditable):
            h.save(e, "plan-1", "rewrite the approved plan")
        with pytest.raises(NotEditable):
            h.save(e, "plan-2", "an optional task of the approved section")
        revised = h.save(e, "reflect-1", "a deeper reflection")
        assert (revised.version, revised.attempt) == (2, 2)

        submitted = await h.submit(e, answer=False)
        assert (submitted.status, submitted.attempt) == (Status.UNDER_REVIEW, 2)
        frozen = h.submission(e, 2)
        assert frozen is not None
        assert frozen.responses["plan-1"]["response"] == "answer to plan-1"
        assert frozen.responses["reflect-1"]["response"] == "a deeper reflection"
        first = h.submission(e, 1)
        assert first is not None and first.responses["reflect-1"]["response"] == "answer to reflect-1"
        await h.assigned(e, evaluator)
        approved = await h.decide(e, evaluator)
        assert (approved.status, approved.attempt) == (Status.APPROVED, 2)
        assert await h.result(e) == EnrolmentResult(
            status=Status.APPROVED, attempt=2, badge_id=f"badge-{e.id}-2"
        )
        assert set(h.marks(e, 2)) == {"plan-c", "reflect-c", "reflect-d"}
        assert h.row(e).badge_id == f"badge-{e.id}-2"


async def test_resubmission_payment_window_returns_to_requested_and_a_stale_payment_is_refunded(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT1H"))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await resubmission_requested(h, evaluator, e)
        stale = await h.workflows.start_resubmission(e.id)
        assert stale.checkout_session_id is not None
        expires_at = h.payments(e)[stale.checkout_session_id].expires_at

        await h.advance_to(expires_at + timedelta(seconds=1))
        back = await eventually(lambda: h.row_if(e, status="resubmission_requested"), what="window ended")
        assert (back.checkout_session_id, back.checkout_url, back.attempt) == (None, None, 1)
        [ended] = h.timeline(e, "checkout_ended")
        assert ended.detail is not None and ended.detail["checkout_session_id"] == stale.checkout_session_id
        assert expires_at <= ended.at < expires_at + timedelta(minutes=1)
        await h.quiet(e)
        state, row = await h.snapshot(e)
        assert state["checkout"] is None

        # The member pays the expired checkout anyway: refunded, told so, nothing else changes.
        await h.pay(e, stale.checkout_session_id, amount=2900)
        [refund_note] = await eventually(
            lambda: h.notes(e, "payment_refunded", e.member.sub), what="member told of the refund"
        )
        assert "29.00 USD" in refund_note.body
        refunded = h.payments(e)[stale.checkout_session_id]
        assert refunded.status == "refunded" and refunded.refund_id
        assert h.timeline(e, "payment_refunded")
        await h.quiet(e)
        after_state, after_row = await h.snapshot(e)
        assert after_state["settled_sessions"] == [*state["settled_sessions"], stale.checkout_session_id]
        assert {**after_state, "settled_sessions": state["settled_sessions"]} == state
        assert after_row == row
        assert not h.notes(e, "operator_alert", ADMINS)

        # Starting again opens a new checkout (never the expired, refunded one). The provider
        # reports that one ended too (checkout.session.expired): back to resubmission_requested.
        again = await h.workflows.start_resubmission(e.id)
        assert again.checkout_session_id is not None
        assert again.checkout_session_id != stale.checkout_session_id
        assert h.payments(e)[again.checkout_session_id].status == "open"
        await h.workflows.checkout_ended(
            e.id,
            CheckoutEnded(checkout_session_id=again.checkout_session_id, reason="the member abandoned it"),
        )
        ended_again = await eventually(lambda: h.row_if(e, status="resubmission_requested"), what="ended")
        assert ended_again.checkout_session_id is None
        assert h.timeline(e, "checkout_ended")[-1].detail == {
            "reason": "the member abandoned it",
            "checkout_session_id": again.checkout_session_id,
        }

        # The third checkout is paid: attempt 2 starts.
        third = await h.workflows.start_resubmission(e.id)
        assert third.checkout_session_id not in (None, stale.checkout_session_id, again.checkout_session_id)
        await h.pay(e, third.checkout_session_id, amount=2900)
        attempt2 = await eventually(lambda: h.row_if(e, status="in_progress", attempt=2), what="attempt 2")
        assert attempt2.editable_sections == ["reflect"]
        await eventually(
            lambda: len(h.notes(e, "purchase_receipt", e.member.sub)) == 2, what="the second receipt"
        )
        assert [p.checkout_session_id for p in (await h.state(e)).paid_payments] == [
            e.checkout_session_id,
            third.checkout_session_id,
        ]


async def test_start_resubmission_is_refused_before_a_resubmission_is_requested(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        for step in ("awaiting_payment", "in_progress", "under_review"):
            if step == "in_progress":
                await h.paid(e)
            elif step == "under_review":
                await h.submit(e)
                await h.assigned(e, evaluator)
            error = await refused(h, e, h.workflows.start_resubmission(e.id), InvalidState)
            assert error.extra == {"status": step}
        # Once started, starting again answers with the open checkout (a second click).
        await h.decide(e, evaluator, unmet=["plan-c"])
        started = await h.workflows.start_resubmission(e.id)
        assert started.checkout_session_id is not None
        assert await h.workflows.start_resubmission(e.id) == started
        assert len(h.timeline(e, "resubmission_started")) == 1


async def test_a_second_start_while_the_first_opens_its_checkout_gets_the_same_checkout(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """Found by ``make chaos``: a retried *Start resubmission* arriving while the first one waits
    for the provider saw the status moved and no checkout yet, and was refused (409). It waits
    for the first instead, and answers with the checkout that one opened."""
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    real = real_activity(ts_env, db, Activity.CREATE_CHECKOUT)
    opening, release = asyncio.Event(), asyncio.Event()

    @activity.defn(name=Activity.CREATE_CHECKOUT)
    async def create_checkout(request: CheckoutRequest) -> Checkout:
        if request.kind == "resubmission":
            opening.set()
            await release.wait()
        result: Checkout = await real(request)
        return result

    async with running(ts_env, db, override=[create_checkout]) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.submit(e)
        await h.assigned(e, evaluator)
        await h.decide(e, evaluator, unmet=["plan-c"])
        first = asyncio.create_task(h.workflows.start_resubmission(e.id))
        await asyncio.wait_for(opening.wait(), 10)
        second = asyncio.create_task(h.workflows.start_resubmission(e.id))
        await asyncio.sleep(0.5)  # the second is in: it waits for the first, or was refused
        release.set()
        started, again = await asyncio.gather(first, second)
        assert started.checkout_session_id is not None
        assert again == started
        assert len(h.timeline(e, "resubmission_started")) == 1


async def test_a_resubmission_paid_after_the_deadline_is_refunded_and_the_enrolment_expires(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """The worker is down while the deadline passes and the payment webhook arrives: the signal
    reaches the workflow in the same task as the deadline's timer, and messages are handled first.
    The attempt bought could never be worked on, so the payment is refunded, not kept."""
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=[]))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db, keep=True, cache=False) as h:
        e = await h.enrol(doc)
        due_at, session_id = await resubmission_started_an_hour_before_the_deadline(h, evaluator, e)
        await h.quiet(e)
    await h.advance_to(due_at + timedelta(seconds=1))  # no further: the fired timer's task waits
    assert await h.pay(e, session_id, amount=doc.resubmission_price.amount)

    async with running(ts_env, db, task_queue=h.task_queue) as restarted:
        restarted.started.append(e.workflow_id)
        result = await restarted.result(e)
        assert (result.status, result.attempt) == (Status.EXPIRED, 1)
        refunded = restarted.payments(e)[session_id]
        assert refunded.status == "refunded" and refunded.refund_id
        [note] = await eventually(
            lambda: restarted.notes(e, "payment_refunded", e.member.sub), what="member told of the refund"
        )
        assert "after the submission deadline" in note.body
        assert not restarted.timeline(e, "attempt_started")
        assert restarted.timeline(e, "expired")
        assert not restarted.notes(e, "operator_alert", ADMINS)


async def test_an_unpaid_resubmission_checkout_is_closed_when_the_enrolment_expires(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """The deadline comes while the resubmission's checkout is still open: nobody can pay it
    afterwards."""
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=[]))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        _, session_id = await resubmission_started_an_hour_before_the_deadline(h, evaluator, e)

        assert (await h.result(e)).status is Status.EXPIRED
        assert h.payments(e)[session_id].status == "expired"
        assert not h.notes(e, "payment_refunded")
