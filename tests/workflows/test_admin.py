"""Operator repairs: extend the deadline, reassign the review, cancel (with or without a
refund), resend a notification, and what each refuses."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from microcred.contracts import (
    CancelEnrolment,
    EnrolmentResult,
    ExtendDeadline,
    ReassignReview,
    ResendNotification,
    Status,
)
from microcred.db import SessionFactory
from microcred.errors import InvalidRequest, InvalidState, NotEligible, NotFound
from tests.support import credential_doc, member, publish, register_evaluator, uid
from tests.workflows.harness import Enrolled, Harness, eventually, refused, running

ADMIN = "admin-1"
CLOSE = timedelta(minutes=1)


def extend(by: str) -> ExtendDeadline:
    return ExtendDeadline(actor=ADMIN, reason="illness", by=by)


async def test_extend_deadline_moves_expiry_and_reminders(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc(submission_window="P2M", reminders_before_due=["P7D"]))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        for by in ("P14D", "banana", "P0D", "-P1D"):
            error = await refused(h, e, h.workflows.extend_deadline(e.id, extend(by)), InvalidState)  # unpaid
            assert error.extra == {"status": "awaiting_payment"}

        paid = await h.paid(e)
        assert paid.due_at is not None
        old_due = paid.due_at
        for by in ("banana", "P0D", "-P1D", ""):
            await refused(h, e, h.workflows.extend_deadline(e.id, extend(by)), InvalidRequest)

        await h.advance_to(old_due - timedelta(days=6))
        await eventually(lambda: h.notes(e, "due_reminder"), what="first reminder")

        view = await h.workflows.extend_deadline(e.id, extend("P14D"))
        new_due = old_due + timedelta(days=14)
        assert view.due_at == new_due
        assert h.row(e).due_at == new_due  # shown as soon as the update answers
        [extended] = h.timeline(e, "deadline_extended")
        assert extended.actor == ADMIN
        assert extended.detail == {
            "reason": "illness",
            "by": "P14D",
            "previous_due_at": old_due.isoformat(),
            "due_at": new_due.isoformat(),
        }
        [told] = await eventually(lambda: h.notes(e, "deadline_extended", e.member.sub), what="member told")
        assert "illness" in told.body

        await h.advance_to(old_due + CLOSE)
        await h.quiet(e)
        assert h.row(e).status == "in_progress"  # the old deadline passed without effect

        # The reminders count down to the new deadline again.
        await h.advance_to(new_due - timedelta(days=7) + CLOSE)
        reminders = await h.notes_counted(e, "due_reminder", 2)
        assert new_due - timedelta(days=7) <= reminders[-1].created_at < new_due - timedelta(days=7) + CLOSE

        assert (await h.result(e)).status is Status.EXPIRED
        [expired] = h.timeline(e, "expired")
        assert new_due <= expired.at < new_due + CLOSE
        error = await refused_finished(h, e)
        assert error.extra == {"status": "expired"}  # how it ended, one of the statuses


async def test_extensions_stop_before_the_end_of_the_calendar(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """Each extension is at most P100Y; one that would leave less than a century before the end
    of the calendar (time under review moves the deadline later) is refused before it is
    accepted (accepted, it would fail the workflow task over and over)."""
    doc = publish(db, credential_doc(reminders_before_due=[]))
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        assert paid.due_at is not None
        due = paid.due_at
        while due.year + 200 <= 9999:
            extended = (await h.workflows.extend_deadline(e.id, extend("P100Y"))).due_at
            assert extended is not None
            due = extended
        error = await refused(h, e, h.workflows.extend_deadline(e.id, extend("P100Y")), InvalidRequest)
        assert error.message == "the extended deadline would lie within P100Y of the year 9999"
        assert (await h.state(e)).due_at == due and h.row(e).due_at == due
        assert (await h.workflows.extend_deadline(e.id, extend("P1D"))).due_at == due + timedelta(days=1)


async def refused_finished(h: Harness, e: Enrolled) -> InvalidState:
    """Every repair of a finished enrolment is refused as invalid_state."""
    calls = [
        h.workflows.extend_deadline(e.id, extend("P1D")),
        h.workflows.reassign_review(e.id, ReassignReview(actor=ADMIN, reason="r")),
        h.workflows.cancel(e.id, CancelEnrolment(actor=ADMIN, reason="r")),
    ]
    errors = [await refused(h, e, call, InvalidState) for call in calls]
    return errors[0]


async def test_a_terminated_enrolment_is_refused_without_a_status(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """A workflow an operator terminated reported no final status: the refusal names none."""
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        await h.handle(e).terminate("by hand")
        error = await refused_finished(h, e)
        assert (error.message, error.extra) == ("the enrolment has finished", {})


async def test_reassign_review(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc())
    a = register_evaluator(db, uid("a"), credential_ids=[doc.id])
    register_evaluator(db, uid("b"), credential_ids=[doc.id])  # as idle as a, later in id order
    c = register_evaluator(db, uid("c"), credential_ids=[doc.id])
    outsider = register_evaluator(db, credential_ids=[publish(db).id])
    who = member()
    register_evaluator(db, who.sub, credential_ids=[doc.id])  # never of their own work
    async with running(ts_env, db) as h:
        e = await h.enrol(doc, who)
        await h.paid(e)
        await refused(
            h, e, h.workflows.reassign_review(e.id, ReassignReview(actor=ADMIN, reason="r")), InvalidState
        )
        await h.submit(e)
        await h.assigned(e, a)

        def reassign(to: str | None) -> ReassignReview:
            return ReassignReview(actor=ADMIN, reason="on leave", evaluator_id=to)

        await refused(h, e, h.workflows.reassign_review(e.id, reassign(a)), InvalidState)  # already theirs
        await refused(h, e, h.workflows.reassign_review(e.id, reassign(e.member.sub)), NotEligible)
        error = await refused(h, e, h.workflows.reassign_review(e.id, reassign(outsider)), NotEligible)
        assert error.extra == {"evaluator_id": outsider}

        view = await h.workflows.reassign_review(e.id, reassign(c))
        assert view.evaluator_id == c and h.row(e).evaluator_id == c
        [moved] = h.timeline(e, "review_reassigned")
        assert moved.actor == ADMIN
        assert moved.detail == {"evaluator_id": c, "previous": a, "reason": "on leave"}
        await eventually(lambda: h.notes(e, "evaluator_assigned", c), what="new evaluator told")

        # Without a name: the least loaded eligible evaluator other than the current one (a, whose
        # earlier turn does not exclude them; a and b tie on load, the id decides).
        view = await h.workflows.reassign_review(e.id, reassign(None))
        assert view.evaluator_id == a
        assert (await h.state(e)).past_evaluator_ids == [a, c]
        await h.quiet(e)
        assert (await h.decide(e, a)).status is Status.APPROVED


async def test_reassign_review_without_anyone_else_is_refused(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    only = register_evaluator(db, credential_ids=[doc.id])
    who = member()
    register_evaluator(db, who.sub, credential_ids=[doc.id])  # never of their own work
    async with running(ts_env, db) as h:
        e = await h.enrol(doc, who)
        await h.paid(e)
        await h.submit(e)
        await h.assigned(e, only)
        await refused(
            h, e, h.workflows.reassign_review(e.id, ReassignReview(actor=ADMIN, reason="r")), NotEligible
        )
        assert h.row(e).evaluator_id == only


async def test_cancel_refunds_by_policy_or_as_told(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db) as h:
        unpaid = await h.enrol(doc)
        unpaid_asked = await h.enrol(doc)
        in_progress = await h.enrol(doc)
        kept = await h.enrol(doc)
        reviewed = await h.enrol(doc)
        reviewed_refunded = await h.enrol(doc)
        for e in (in_progress, kept, reviewed, reviewed_refunded):
            await h.paid(e)
        for e in (reviewed, reviewed_refunded):
            await h.submit(e)
            await h.assigned(e, evaluator)
            await h.decide(e, evaluator, unmet=["plan-c"])

        # (enrolment, refund asked, refund decided, payment refunded)
        cases: list[tuple[Enrolled, bool | None, bool, bool]] = [
            (unpaid, None, False, False),  # nothing paid
            (unpaid_asked, True, False, False),  # told to, but nothing was paid
            (in_progress, None, True, True),  # policy: paid, not yet reviewed
            (kept, False, False, False),  # told not to
            (reviewed, None, False, False),  # policy: the attempt was reviewed
            (reviewed_refunded, True, True, True),  # told to
        ]
        for e, refund, decided, refunded in cases:
            view = await h.workflows.cancel(
                e.id, CancelEnrolment(actor=ADMIN, reason="duplicate", refund=refund)
            )
            assert (view.status, view.checkout_session_id) == (Status.CANCELLED, None)
            assert await h.ended(e) == EnrolmentResult(status=Status.CANCELLED, attempt=1)
            [event] = h.timeline(e, "cancelled")
            assert (event.actor, event.detail) == (ADMIN, {"reason": "duplicate", "refund": decided})
            assert h.row(e).status == "cancelled"
            assert len(h.notes(e, "cancelled", e.member.sub)) == 1
            payment = h.payments(e)[e.checkout_session_id]
            assert (payment.status == "refunded") is refunded, e
            assert len(h.notes(e, "payment_refunded", e.member.sub)) == int(refunded)
            await refused_finished(h, e)


async def test_resend_notification(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)
        other = await h.enrol(doc)
        await h.paid(e)
        await h.paid(other)
        [receipt] = await eventually(lambda: h.notes(e, "purchase_receipt"), what="receipt")
        [foreign] = await eventually(lambda: h.notes(other, "purchase_receipt"), what="other receipt")

        for missing in (uid("notification"), foreign.id):
            error = await refused(h, e, h.workflows.resend_notification(e.id, resend(missing)), NotFound)
            assert error.extra == {"notification_id": missing}

        await h.workflows.resend_notification(e.id, resend(receipt.id))
        copies = [n for n in h.notes(e, "purchase_receipt") if n.id != receipt.id]
        assert len(copies) == 1
        copy = copies[0]
        assert (copy.recipient_id, copy.subject, copy.body) == (
            receipt.recipient_id,
            receipt.subject,
            receipt.body,
        )
        assert copy.key != receipt.key
        [event] = h.timeline(e, "notification_resent")
        assert (event.actor, event.detail) == (ADMIN, {"reason": "lost mail", "notification_id": receipt.id})


def resend(notification_id: str) -> ResendNotification:
    return ResendNotification(actor=ADMIN, reason="lost mail", notification_id=notification_id)
