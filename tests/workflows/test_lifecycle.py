"""The happy path, end to end: purchase, work, submit, review, approval and the badge (the
real badge activity: this is the one workflow test that signs one)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from microcred.badges import badge_id_for
from microcred.contracts import EnrolmentResult, Status
from microcred.db import SessionFactory
from microcred.errors import NotEditable
from microcred.models import Badge
from tests.support import credential_doc, publish, register_evaluator
from tests.workflows.harness import ADMINS, add_months, eventually, running

CRITERIA = ("plan-c", "reflect-c", "reflect-d")


async def test_happy_path(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(ts_env, db, real_badges=True) as h:
        e = await h.enrol(doc)
        awaiting = h.row(e)
        assert awaiting.status == "awaiting_payment"
        assert awaiting.checkout_session_id == e.checkout_session_id
        opened = h.payments(e)[e.checkout_session_id]
        assert (opened.status, opened.kind, opened.amount, opened.currency) == (
            "open",
            "purchase",
            9900,
            "usd",
        )

        paid = await h.paid(e)
        assert paid.purchased_at is not None and paid.due_at is not None
        d = paid.due_at
        assert d == add_months(paid.purchased_at, 10)  # P10M on the calendar, not 300 days
        assert paid.checkout_session_id is None and paid.checkout_url is None
        receipt = await eventually(lambda: h.notes(e, "purchase_receipt", e.member.sub), what="receipt")
        assert len(receipt) == 1

        submitted = await h.submit(e)
        assert (submitted.status, submitted.attempt) == (Status.UNDER_REVIEW, 1)
        assert submitted.review_due_at == submitted.submitted_at + timedelta(days=14)
        under_review = h.row(e)  # the update answers after the read model shows it
        assert under_review.status == "under_review"
        assert under_review.submitted_at == submitted.submitted_at
        assert under_review.review_due_at == submitted.review_due_at
        frozen = h.submission(e, 1)
        assert frozen is not None
        assert {t: v["response"] for t, v in frozen.responses.items()} == {
            "plan-1": "answer to plan-1",
            "reflect-1": "answer to reflect-1",
        }
        with pytest.raises(NotEditable):
            h.save(e, "plan-2", "too late")
        await h.assigned(e, evaluator)
        await eventually(lambda: h.notes(e, "evaluator_assigned", evaluator), what="evaluator told")
        await eventually(lambda: h.notes(e, "submission_received", e.member.sub), what="member told")
        assert not h.notes(e, "review_unassigned", ADMINS)

        await h.advance(timedelta(days=2))
        decided = await h.decide(e, evaluator)
        assert (decided.status, decided.decision) == (Status.APPROVED, "approved")
        result = await h.result(e)
        assert result == EnrolmentResult(status=Status.APPROVED, attempt=1, badge_id=badge_id_for(e.id, 1))
        with db() as session:
            badge = session.get(Badge, result.badge_id)
            assert badge is not None
            assert (badge.enrolment_id, badge.attempt, badge.member_id) == (e.id, 1, e.member.sub)
            assert badge.jwt.count(".") == 2  # a compact JWS

        final = h.row(e)
        assert (final.status, final.decision, final.badge_id) == ("approved", "approved", result.badge_id)
        decision = h.submission(e, 1)
        assert decision is not None and decision.decided_at is not None
        assert (decision.outcome, decision.evaluator_id, decision.feedback) == (
            "approved",
            evaluator,
            "thank you",
        )
        # The time under review is added to the deadline.
        assert final.due_at == d + (decision.decided_at - submitted.submitted_at)
        assert decided.due_at == final.due_at
        marks = h.marks(e, 1)
        assert set(marks) == set(CRITERIA) and all(m.met for m in marks.values())
        assert {m.section_id for m in marks.values()} == {"plan", "reflect"}
        assert h.notes(e, "decision", e.member.sub)
        badge_notes = h.notes(e, "badge_issued", e.member.sub)
        assert len(badge_notes) == 1 and result.badge_id and result.badge_id in badge_notes[0].body
        assert [t.kind for t in h.timeline(e)] == [
            "enrolled",
            "checkout_opened",
            "payment_confirmed",
            "submitted",
            "evaluator_assigned",
            "decided",
            "badge_issued",
        ]
        # A query still answers after the run finished.
        assert (await h.state(e)).status is Status.APPROVED
