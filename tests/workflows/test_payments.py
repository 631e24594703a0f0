"""Payments: the payment window, ended checkouts, duplicates, late and unknown payments,
community access, and the calendar arithmetic of the submission window."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import (
    CancelEnrolment,
    CheckoutEnded,
    EnrolmentResult,
    LatePayment,
    RefundedElsewhere,
    Status,
)
from microcred.db import SessionFactory, transaction
from microcred.models import Payment, PaymentStatus
from tests.support import credential_doc, publish, uid, webhook_processing, webhook_recorded
from tests.workflows.harness import ADMINS, Enrolled, Gates, Harness, add_months, changes, eventually, running
from workflows.enrolment.payments import PROCESSING_HOLD


async def test_unpaid_checkout_cancels_the_purchase_when_the_payment_window_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        opened = h.payments(e)[e.checkout_session_id]
        enrolled_at = (await h.state(e)).enrolled_at
        assert enrolled_at is not None and opened.expires_at == enrolled_at + timedelta(hours=2)

        await h.advance_to(opened.expires_at - timedelta(minutes=1))
        await h.quiet(e)
        assert h.row(e).status == "awaiting_payment"

        result = await h.result(e)
        assert result == EnrolmentResult(status=Status.CANCELLED, attempt=1)
        row = h.row(e)
        assert (row.status, row.checkout_session_id, row.checkout_url, row.purchased_at) == (
            "cancelled",
            None,
            None,
            None,
        )
        [cancelled] = h.timeline(e, "cancelled")
        assert (
            cancelled.detail is not None and cancelled.detail["checkout_session_id"] == e.checkout_session_id
        )
        assert opened.expires_at <= cancelled.at < opened.expires_at + timedelta(minutes=1)
        assert len(h.notes(e, "cancelled", e.member.sub)) == 1

        # The member pays the dead checkout anyway: the finished workflow takes no signal, so the
        # webhook hands the payment to the late-payment refund, which refunds and tells the member.
        assert await h.pay(e) is False
        await h.workflows.refund_late_payment(
            LatePayment(
                enrolment_id=e.id,
                member_id=e.member.sub,
                credential_title=doc.title,
                checkout_session_id=e.checkout_session_id,
                amount=9900,
                currency="usd",
                reason="the checkout had expired",
            )
        )
        refunded = await ts_env.client.get_workflow_handle(f"refund-{e.checkout_session_id}").result()
        assert refunded["refunded"] is True
        payment = h.payments(e)[e.checkout_session_id]
        assert payment.status == "refunded" and payment.refund_id
        assert len(h.notes(e, "payment_refunded", e.member.sub)) == 1
        assert h.row(e).status == "cancelled"


async def test_a_payment_not_yet_signalled_is_used_when_the_payment_window_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        webhook_recorded(db, e.checkout_session_id, amount=9900)
        await h.advance_to(h.payments(e)[e.checkout_session_id].expires_at + timedelta(minutes=1))

        row = await eventually(lambda: h.row_if(e, status="in_progress"), what="in progress")
        assert row.purchased_at is not None and not h.timeline(e, "cancelled")
        assert len(h.notes(e, "purchase_receipt", e.member.sub)) == 1
        # The webhook's retry reaches the workflow at last: it changes nothing.
        assert await h.pay(e) is True
        await h.quiet(e)
        assert h.row(e).status == "in_progress" and h.payments(e)[e.checkout_session_id].status == "paid"
        assert len(h.notes(e, "purchase_receipt", e.member.sub)) == 1


async def test_a_wrong_amount_not_yet_signalled_is_refunded_when_the_payment_window_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        webhook_recorded(db, e.checkout_session_id, amount=100)

        assert await h.result(e) == EnrolmentResult(status=Status.CANCELLED, attempt=1)
        payment = h.payments(e)[e.checkout_session_id]
        assert (payment.status, payment.refunded_amount) == ("refunded", 100)
        [cancelled] = h.timeline(e, "cancelled")
        assert cancelled.detail is not None and "not the price asked" in cancelled.detail["reason"]
        assert len(h.notes(e, "payment_refunded", e.member.sub)) == 1
        [alert] = h.notes(e, "operator_alert", ADMINS)
        assert "was paid 100 usd, not the price asked" in alert.body and "it is refunded" in alert.body


async def test_a_delayed_payment_processing_when_the_window_ends_holds_the_checkout_until_it_confirms(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """A bank debit confirms days after the member completed the checkout: the purchase waits
    for it instead of being cancelled (and the payment refunded once it confirmed)."""
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.held(doc)
        expires_at = h.payments(e)[e.checkout_session_id].expires_at
        await h.quiet(e)

        assert h.row(e).status == "awaiting_payment" and not h.timeline(e, "cancelled")
        [held] = h.timeline(e, "payment_processing")
        assert held.detail is not None
        assert datetime.fromisoformat(held.detail["held_until"]) == held.at + PROCESSING_HOLD
        assert expires_at <= held.at < expires_at + timedelta(minutes=1)
        assert h.payments(e)[e.checkout_session_id].status == "processing"
        assert h.row(e).checkout_url is None  # nothing to pay meanwhile
        [told] = h.notes(e, "payment_processing", e.member.sub)
        assert "you need not pay again" in told.body

        assert await h.pay(e) is True  # the signal of checkout.session.async_payment_succeeded
        row = await eventually(lambda: h.row_if(e, status="in_progress"), what="in progress")
        assert row.purchased_at is not None and not h.notes(e, "payment_refunded")


async def test_a_delayed_payment_confirmed_but_not_signalled_is_used_when_the_hold_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """The webhook recorded the confirmation, then the API stopped before it signalled."""
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.held(doc)
        webhook_recorded(db, e.checkout_session_id, amount=9900)

        await h.advance(PROCESSING_HOLD)
        row = await eventually(lambda: h.row_if(e, status="in_progress"), what="in progress")
        assert row.purchased_at is not None and not h.timeline(e, "cancelled")
        assert not h.notes(e, "payment_refunded")


async def test_a_delayed_payment_that_fails_during_the_hold_ends_the_purchase(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.held(doc)

        await h.workflows.checkout_ended(  # the signal of checkout.session.async_payment_failed
            e.id, CheckoutEnded(checkout_session_id=e.checkout_session_id, reason="the payment failed")
        )
        assert (await h.result(e)).status is Status.CANCELLED
        [cancelled] = h.timeline(e, "cancelled")
        assert cancelled.detail is not None and cancelled.detail["reason"] == "the payment failed"


async def test_a_delayed_payment_that_never_confirms_ends_the_purchase_when_the_hold_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        webhook_processing(db, e.checkout_session_id)

        assert await h.result(e) == EnrolmentResult(status=Status.CANCELLED, attempt=1)
        [held] = h.timeline(e, "payment_processing")
        [cancelled] = h.timeline(e, "cancelled")
        assert held.detail is not None and cancelled.detail is not None
        held_until = datetime.fromisoformat(held.detail["held_until"])
        assert held_until <= cancelled.at < held_until + timedelta(minutes=1)
        assert "did not confirm in time" in cancelled.detail["reason"]
        assert len(h.notes(e, "cancelled", e.member.sub)) == 1


async def test_a_full_refund_made_outside_microcred_alerts_the_admins_once(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        not_ours = RefundedElsewhere(checkout_session_id="cs_of_something_else")
        assert await h.workflows.payment_refunded_elsewhere(e.id, not_ours) is True
        await h.quiet(e)
        assert not h.notes(e, "operator_alert")

        refunded = RefundedElsewhere(checkout_session_id=e.checkout_session_id)
        for _ in range(2):  # Stripe redelivers webhooks
            assert await h.workflows.payment_refunded_elsewhere(e.id, refunded) is True
            await h.quiet(e)

        [alert] = h.notes(e, "operator_alert", ADMINS)
        assert f"checkout session {e.checkout_session_id}, which paid this enrolment" in alert.body
        assert "still in_progress" in alert.body and h.row(e).status == "in_progress"


async def test_the_refund_of_an_admins_cancellation_alerts_nobody(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """Stripe reports microcred's own refunds too: the cancelled enrolment ignores them."""
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.workflows.cancel(e.id, CancelEnrolment(actor="admin-1", reason="duplicate", refund=True))
        assert (await h.ended(e)).status is Status.CANCELLED
        assert h.payments(e)[e.checkout_session_id].status == "refunded"

        refunded = RefundedElsewhere(checkout_session_id=e.checkout_session_id)
        assert await h.workflows.payment_refunded_elsewhere(e.id, refunded) is False  # finished
        assert not h.notes(e, "operator_alert")


async def test_a_purchase_cancelled_with_its_checkout_open_closes_the_checkout(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """Nobody can pay a cancelled purchase's checkout afterwards (the offline page refuses it,
    Stripe's session is expired); a payment made just before, not yet signalled, is refunded."""
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        unpaid, paid = await h.enrol(doc), await h.enrol(doc)
        webhook_recorded(db, paid.checkout_session_id, amount=9900)
        for e in (unpaid, paid):
            await h.workflows.cancel(e.id, CancelEnrolment(actor="admin-1", reason="bought by mistake"))
            assert (await h.ended(e)).status is Status.CANCELLED

        assert h.payments(unpaid)[unpaid.checkout_session_id].status == "expired"
        assert not h.notes(unpaid, "payment_refunded")
        refunded = h.payments(paid)[paid.checkout_session_id]
        assert (refunded.status, refunded.refunded_amount) == ("refunded", 9900)
        [told] = h.notes(paid, "payment_refunded", paid.member.sub)
        assert "cancelled by an admin: bought by mistake" in told.body


async def test_checkout_ended_signal_cancels_only_for_the_open_session(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.quiet(e)
        before = await h.snapshot(e)
        await h.workflows.checkout_ended(
            e.id, CheckoutEnded(checkout_session_id="cs_other", reason="expired")
        )
        await h.quiet(e)
        assert changes(before, await h.snapshot(e)) == {}

        await h.workflows.checkout_ended(
            e.id, CheckoutEnded(checkout_session_id=e.checkout_session_id, reason="the checkout expired")
        )
        result = await h.result(e)
        assert result.status is Status.CANCELLED
        [cancelled] = h.timeline(e, "cancelled")
        assert cancelled.detail is not None and cancelled.detail["reason"] == "the checkout expired"
        assert h.row(e).status == "cancelled"


async def test_duplicate_payment_signals_change_nothing(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.pay(e, event_id="evt_first")
        await h.pay(e, event_id="evt_first")  # the same event redelivered, before the first settled
        await eventually(lambda: h.row_if(e, status="in_progress"), what="in progress")
        await h.quiet(e)
        before = await h.snapshot(e)
        assert before[0]["paid_payments"] == [
            {
                "checkout_session_id": e.checkout_session_id,
                "event_id": "evt_first",
                "amount": 9900,
                "currency": "usd",
                "payment_intent": None,
            }
        ]

        await h.pay(e, event_id="evt_first")  # redelivered later
        await h.pay(e, event_id="evt_second")  # another event for the same paid session
        await h.quiet(e)
        assert changes(before, await h.snapshot(e)) == {}
        assert h.payments(e)[e.checkout_session_id].status != "refunded"
        assert not h.notes(e, "payment_refunded")
        assert len(h.notes(e, "purchase_receipt")) == 1
        assert len(h.timeline(e, "payment_confirmed")) == 1


async def test_a_payment_for_an_unknown_checkout_session_alerts_admins_and_changes_nothing(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.paid(e)
        await h.quiet(e)
        state, row = await h.snapshot(e)

        await h.pay(e, "cs_never_opened")
        alert = await eventually(lambda: h.notes(e, "operator_alert", ADMINS), what="admins alerted")
        assert "cs_never_opened" in alert[0].body
        await h.quiet(e)
        after_state, after_row = await h.snapshot(e)
        assert after_state["settled_sessions"] == [e.checkout_session_id, "cs_never_opened"]
        assert {**after_state, "settled_sessions": state["settled_sessions"]} == state
        assert after_row == row
        assert not h.notes(e, "payment_refunded")  # nothing was refunded, so the member is told nothing
        assert (await h.state(e)).status is Status.IN_PROGRESS  # the enrolment lives on


async def test_first_payment_grants_the_community(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    community = uid("community")
    doc = publish(db, credential_doc(community={"id": community, "name": "Inquiry practitioners"}))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.quiet(e)
        assert h.memberships(e.member) == []
        assert (await h.state(e)).community_granted is False

        paid = await h.paid(e)
        [granted] = await eventually(lambda: h.memberships(e.member), what="community granted")
        assert (granted.community_id, granted.enrolment_id) == (community, e.id)
        assert paid.purchased_at is not None
        assert paid.purchased_at <= granted.granted_at < paid.purchased_at + timedelta(minutes=1)
        await eventually(lambda: h.timeline(e, "community_granted"), what="timeline")
        assert (await h.state(e)).community_granted is True


async def test_submission_window_counts_calendar_months(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=["P7D"]))
    async with running(ts_env, db) as h:
        now = await h.now()
        jan31 = datetime(now.year + 1, 1, 31, 9, 0, tzinfo=UTC)
        await h.advance_to(jan31)
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.purchased_at is not None and paid.due_at is not None
        assert (paid.purchased_at.month, paid.purchased_at.day) == (1, 31)
        leap = paid.purchased_at.year % 4 == 0
        assert (paid.due_at.month, paid.due_at.day) == (2, 29 if leap else 28)  # not March 2 or 3
        assert paid.due_at == add_months(paid.purchased_at, 1)
        assert (await h.state(e)).due_at == paid.due_at


async def settled_but_for_one_activity(h: Harness, e: Enrolled) -> WorkflowExecutionStatus | None:
    """The workflow's status once it has ended, or has no task to run and one activity open."""
    for _ in range(200):
        described = await h.handle(e).describe()
        raw = described.raw_description
        if described.status != WorkflowExecutionStatus.RUNNING or (
            len(raw.pending_activities) == 1 and not raw.HasField("pending_workflow_task")
        ):
            return described.status
        await asyncio.sleep(0.05)
    raise AssertionError("the workflow did not settle")


async def test_a_payment_that_arrives_as_the_run_ends_is_refunded_and_told_before_it_ends(
    ts_env: WorkflowEnvironment, db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled enrolment sends its last notifications; payments arriving meanwhile (noted by
    their signals) are refunded by the ending run. The run ends only once every arrival has been
    acted on and every notification is out, however they interleave."""
    gates = Gates(monkeypatch)
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        first, second = e.checkout_session_id, uid("cs_second")
        gates.notices["cancelled"] = threading.Event()
        gates.refunds[first] = asyncio.Event()
        await h.workflows.cancel(e.id, CancelEnrolment(actor="admin-1", reason="bought twice"))
        await gates.reach("notice:cancelled")  # the run's last notifications are going out

        assert await h.pay(e, first)  # noted while they go out
        gates.notices["cancelled"].set()
        await gates.reach(f"refund:{first}")  # the ending run refunds it (held at the provider)
        gates.notices["payment_refunded"] = threading.Event()
        with transaction(db) as session:  # a second checkout of this enrolment, also paid
            session.add(
                Payment(
                    checkout_session_id=second,
                    enrolment_id=e.id,
                    provider="offline",
                    kind="purchase",
                    attempt=1,
                    amount=doc.price.amount,
                    currency=doc.price.currency,
                    status=PaymentStatus.PAID,
                    url="https://example.org/checkout",
                )
            )
        assert await h.pay(e, second)  # noted while the first refund is under way
        gates.refunds[second] = asyncio.Event()
        gates.refunds[first].set()
        await gates.reach(f"refund:{second}")  # acted on in the order they arrived
        # The second refund is held at the provider: the run waits for it.
        running_for = await settled_but_for_one_activity(h, e)
        assert running_for == WorkflowExecutionStatus.RUNNING
        gates.refunds[second].set()
        await gates.reach("notice:payment_refunded")  # then the refunds are told
        gates.notices["payment_refunded"].set()

        assert (await h.ended(e)).status is Status.CANCELLED
        told = h.notes(e, "payment_refunded", e.member.sub)
        assert sorted(n.key.split(":", 1)[1] for n in told) == sorted([f"refund:{first}", f"refund:{second}"])
        payments = h.payments(e)
        assert payments[first].status == payments[second].status == "refunded"
