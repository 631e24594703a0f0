"""StoreActivities against SQLite and a real, migrated PostgreSQL (the ``sessions`` fixtures).

Each activity is idempotent because Temporal runs it at least once: every test also calls it a
second time with the same input, as a retry would, and checks that nothing was written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlmodel import col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from microcred.contracts import (
    AssignInput,
    CommunityInput,
    DecisionInput,
    EventKind,
    MarkRecord,
    Outcome,
    RecordInput,
    Status,
)
from microcred.db import SessionFactory, transaction
from microcred.errors import NotEditable
from microcred.models import CommunityMembership, Enrolment, RubricMark, Submission, TimelineEntry
from microcred.services import people
from tests.activities.builders import AT, Seeded, enrolment, event, freeze_input, save, view
from tests.support import credential_doc, publish, register_evaluator, uid


def run(fn: Callable[[In], Out], inp: In) -> Out:
    """Call an activity as a worker would (inside an activity context)."""
    return ActivityEnvironment().run(fn, inp)


In = TypeVar("In")
Out = TypeVar("Out")


def row(sessions: SessionFactory, enrolment_id: str) -> Enrolment:
    with sessions() as session:
        found = session.get(Enrolment, enrolment_id)
        assert found is not None
        return found


def timeline(sessions: SessionFactory, enrolment_id: str) -> list[TimelineEntry]:
    with sessions() as session:
        return list(
            session.exec(
                select(TimelineEntry)
                .where(TimelineEntry.enrolment_id == enrolment_id)
                .order_by(col(TimelineEntry.id))
            ).all()
        )


def submission(sessions: SessionFactory, enrolment_id: str, attempt: int = 1) -> Submission | None:
    with sessions() as session:
        return session.get(Submission, (enrolment_id, attempt))


# --- store.record -----------------------------------------------------------------------------


def test_record_applies_the_view_and_adds_its_event(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, status=Status.AWAITING_PAYMENT, seq=1)
    inp = RecordInput(
        view=view(
            seeded,
            seq=2,
            status=Status.AWAITING_PAYMENT,
            checkout_session_id="cs_1",
            checkout_url="http://testserver/checkout/cs_1",
            editable_sections=["plan"],
        ),
        event=event(EventKind.CHECKOUT_OPENED, checkout_session_id="cs_1"),
    )

    run(acts.record, inp)
    run(acts.record, inp)  # a retry

    stored = row(sessions, seeded.enrolment_id)
    assert (stored.seq, stored.checkout_session_id, stored.editable_sections) == (2, "cs_1", ["plan"])
    assert stored.checkout_url == "http://testserver/checkout/cs_1"
    events = timeline(sessions, seeded.enrolment_id)
    assert [(e.key, e.kind, e.detail) for e in events] == [
        ("wf:2", "checkout_opened", {"checkout_session_id": "cs_1"})
    ]
    assert events[0].at == AT


def test_record_ignores_a_view_older_than_the_row(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, status=Status.AWAITING_PAYMENT, seq=1)
    newer = RecordInput(
        view=view(seeded, seq=3, status=Status.IN_PROGRESS), event=event(EventKind.PAYMENT_CONFIRMED)
    )
    older = RecordInput(
        view=view(seeded, seq=2, status=Status.AWAITING_PAYMENT, checkout_session_id="cs_old"),
        event=event(EventKind.CHECKOUT_OPENED, at=AT - timedelta(minutes=1)),
    )

    run(acts.record, newer)
    run(acts.record, older)  # delivered late: its event is history, its view is stale

    stored = row(sessions, seeded.enrolment_id)
    assert (stored.seq, stored.status, stored.checkout_session_id) == (3, "in_progress", None)
    assert sorted(e.key for e in timeline(sessions, seeded.enrolment_id)) == ["wf:2", "wf:3"]


# --- store.freeze_submission ------------------------------------------------------------------


def test_freeze_snapshots_the_newest_version_of_each_task(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, seq=4)
    for task_id, response in [("plan-1", "draft"), ("reflect-1", "first"), ("plan-1", "final plan")]:
        save(sessions, seeded, task_id, response)
    assert save(sessions, seeded, "reflect-1", "final reflection") == 2

    result = run(acts.freeze_submission, freeze_input(seeded, seq=5))

    assert result.task_count == 2
    frozen = submission(sessions, seeded.enrolment_id)
    assert frozen is not None
    assert frozen.submitted_at == AT
    assert {t: (r["version"], r["response"]) for t, r in frozen.responses.items()} == {
        "plan-1": (2, "final plan"),
        "reflect-1": (2, "final reflection"),
    }
    stored = row(sessions, seeded.enrolment_id)
    assert (stored.status, stored.seq, stored.submitted_at) == ("under_review", 5, AT)
    assert stored.review_due_at == AT + timedelta(days=14)
    assert [(e.key, e.kind, e.actor) for e in timeline(sessions, seeded.enrolment_id)] == [
        ("wf:4", "submitted", seeded.member_id),
        ("wf:5", "review_unassigned", "system"),  # written with it: the review's assignment
    ]
    with pytest.raises(NotEditable):
        save(sessions, seeded, "plan-2", "too late")


@pytest.mark.parametrize("reflection", [None, "", "  \n\t "], ids=["missing", "empty", "blank"])
def test_freeze_refuses_an_unanswered_required_task(sessions: SessionFactory, reflection: str | None) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, seq=4)
    save(sessions, seeded, "plan-1", "a plan")
    save(sessions, seeded, "plan-2", "optional extra")
    if reflection is not None:
        save(sessions, seeded, "reflect-1", "once answered")
        save(sessions, seeded, "reflect-1", reflection)  # then emptied: the newest version counts

    with pytest.raises(ApplicationError) as refused:
        run(acts.freeze_submission, freeze_input(seeded, seq=5))

    assert refused.value.type == "TasksIncomplete"
    assert refused.value.non_retryable
    assert refused.value.details[0]["tasks"] == ["reflect-1"]
    assert submission(sessions, seeded.enrolment_id) is None
    assert (row(sessions, seeded.enrolment_id).status, row(sessions, seeded.enrolment_id).seq) == (
        "in_progress",
        4,
    )
    assert timeline(sessions, seeded.enrolment_id) == []
    assert save(sessions, seeded, "reflect-1", "answered now") >= 1  # still the member's to edit


def test_freeze_is_idempotent_on_retry(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, seq=4)
    save(sessions, seeded, "plan-1", "plan")
    save(sessions, seeded, "reflect-1", "reflection")
    inp = freeze_input(seeded, seq=5)

    first = run(acts.freeze_submission, inp)
    frozen = submission(sessions, seeded.enrolment_id)
    second = run(acts.freeze_submission, inp)  # the first attempt committed, its reply was lost

    assert second == first
    again = submission(sessions, seeded.enrolment_id)
    assert frozen is not None and again is not None
    assert again.responses == frozen.responses
    assert [e.key for e in timeline(sessions, seeded.enrolment_id)] == ["wf:4", "wf:5"]  # not twice
    with sessions() as session:
        assert (
            len(session.exec(select(Submission).where(Submission.enrolment_id == seeded.enrolment_id)).all())
            == 1
        )


@pytest.mark.parametrize("status", [Status.AWAITING_PAYMENT, Status.UNDER_REVIEW, Status.EXPIRED])
def test_freeze_refuses_an_enrolment_not_in_progress(sessions: SessionFactory, status: Status) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, status=status, seq=4)

    with pytest.raises(ApplicationError) as refused:
        run(acts.freeze_submission, freeze_input(seeded, seq=5))

    assert (refused.value.type, refused.value.non_retryable) == ("InvalidState", True)
    assert submission(sessions, seeded.enrolment_id) is None
    assert row(sessions, seeded.enrolment_id).status == status.value


def test_freeze_of_a_later_attempt_keeps_the_approved_work(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = enrolment(sessions, seq=4)
    save(sessions, seeded, "plan-1", "approved plan")
    save(sessions, seeded, "reflect-1", "weak reflection")
    run(acts.freeze_submission, freeze_input(seeded, seq=5))
    # The evaluator asked for the reflection again; the workflow opens attempt 2 for that section.
    run(
        acts.record,
        RecordInput(
            view=view(seeded, seq=6, status=Status.IN_PROGRESS, attempt=2, editable_sections=["reflect"]),
            event=event(EventKind.ATTEMPT_STARTED),
        ),
    )
    with pytest.raises(NotEditable):
        save(sessions, seeded, "plan-1", "not this one")
    save(sessions, seeded, "reflect-1", "deeper reflection")

    result = run(
        acts.freeze_submission, freeze_input(seeded, seq=7, attempt=2, submitted_at=AT + timedelta(days=30))
    )

    assert result.task_count == 2
    second = submission(sessions, seeded.enrolment_id, attempt=2)
    assert second is not None
    assert {t: (r["version"], r["response"]) for t, r in second.responses.items()} == {
        "plan-1": (1, "approved plan"),
        "reflect-1": (2, "deeper reflection"),
    }
    first = submission(sessions, seeded.enrolment_id, attempt=1)
    assert first is not None and first.responses["reflect-1"]["response"] == "weak reflection"


# --- store.record_decision --------------------------------------------------------------------


def _submitted(sessions: SessionFactory) -> Seeded:
    seeded = enrolment(sessions, seq=4)
    save(sessions, seeded, "plan-1", "plan")
    save(sessions, seeded, "reflect-1", "reflection")
    run(StoreActivities(sessions).freeze_submission, freeze_input(seeded, seq=5))
    return seeded


def _decision(seeded: Seeded, evaluator_id: str, *, feedback: str = "Nearly there.") -> DecisionInput:
    decided_at = AT + timedelta(days=3)
    return DecisionInput(
        view=view(
            seeded,
            seq=6,
            status=Status.RESUBMISSION_REQUESTED,
            submitted_at=AT,
            decision=Outcome.RESUBMIT,
            evaluator_id=evaluator_id,
        ),
        event=event(EventKind.DECIDED, at=decided_at, actor=evaluator_id, outcome="resubmit"),
        evaluator_id=evaluator_id,
        outcome=Outcome.RESUBMIT,
        marks=[
            MarkRecord(criterion_id="plan-c", section_id="plan", met=True, comment=""),
            MarkRecord(criterion_id="reflect-c", section_id="reflect", met=False, comment="Cite evidence."),
            MarkRecord(criterion_id="reflect-d", section_id="reflect", met=True, comment="Good."),
        ],
        feedback=feedback,
    )


def test_record_decision_stores_the_marks_once(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    seeded = _submitted(sessions)
    evaluator = uid("evaluator")

    run(acts.record_decision, _decision(seeded, evaluator))
    run(acts.record_decision, _decision(seeded, evaluator))  # a retry
    # Even a retry carrying other words cannot rewrite a decision already made.
    run(acts.record_decision, _decision(seeded, evaluator, feedback="something else"))

    decided = submission(sessions, seeded.enrolment_id)
    assert decided is not None
    assert (decided.outcome, decided.feedback, decided.evaluator_id) == (
        "resubmit",
        "Nearly there.",
        evaluator,
    )
    assert decided.decided_at == AT + timedelta(days=3)
    with sessions() as session:
        marks = session.exec(
            select(RubricMark)
            .where(RubricMark.enrolment_id == seeded.enrolment_id)
            .order_by(col(RubricMark.criterion_id))
        ).all()
    assert [(m.attempt, m.criterion_id, m.section_id, m.met, m.comment) for m in marks] == [
        (1, "plan-c", "plan", True, ""),
        (1, "reflect-c", "reflect", False, "Cite evidence."),
        (1, "reflect-d", "reflect", True, "Good."),
    ]
    stored = row(sessions, seeded.enrolment_id)
    assert (stored.status, stored.decision, stored.seq) == ("resubmission_requested", "resubmit", 6)
    kinds = [e.kind for e in timeline(sessions, seeded.enrolment_id)]
    assert kinds == ["submitted", "review_unassigned", "decided"]


def test_record_decision_without_a_submission_is_refused(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions, status=Status.UNDER_REVIEW, seq=4)

    with pytest.raises(ApplicationError) as refused:
        run(StoreActivities(sessions).record_decision, _decision(seeded, uid("evaluator")))

    assert (refused.value.type, refused.value.non_retryable) == ("InvalidState", True)
    with sessions() as session:
        assert (
            session.exec(select(RubricMark).where(RubricMark.enrolment_id == seeded.enrolment_id)).all() == []
        )


# --- store.assign_evaluator -------------------------------------------------------------------
# On a database of the test's own: assignment looks at every evaluator there is.


class Review:
    """One credential with evaluators, and helpers to load them with open reviews."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.doc = publish(sessions)
        self.other = publish(sessions)
        self.acts = StoreActivities(sessions)

    def evaluator(self, name: str, *, credentials: list[str] | None = None) -> str:
        """Registered for ``credentials``; for all credentials when None."""
        return register_evaluator(self.sessions, f"{name}-{uid('e')}", credential_ids=credentials)

    def reviewing(self, evaluator_id: str, count: int, status: Status = Status.UNDER_REVIEW) -> None:
        for _ in range(count):
            enrolment(self.sessions, self.doc, status=status, evaluator_id=evaluator_id)

    def submitted(self, member_id: str | None = None) -> Seeded:
        return enrolment(self.sessions, self.doc, status=Status.UNDER_REVIEW, member_id=member_id)

    def assign(
        self, seeded: Seeded, *, exclude: tuple[str, ...] = (), preferred: str | None = None
    ) -> str | None:
        before = row(self.sessions, seeded.enrolment_id).evaluator_id
        result = run(
            self.acts.assign_evaluator,
            AssignInput(
                enrolment_id=seeded.enrolment_id,
                attempt=1,
                credential_id=seeded.credential_id,
                member_id=seeded.member_id,
                exclude=list(exclude),
                preferred=preferred,
            ),
        )
        evaluator_id: str | None = result.evaluator_id
        assert row(self.sessions, seeded.enrolment_id).evaluator_id == before  # the pick writes nothing
        if evaluator_id is not None:
            # What the workflow does next: record the pick in the read model.
            with transaction(self.sessions) as session:
                enrolment_row = session.get(Enrolment, seeded.enrolment_id)
                assert enrolment_row is not None
                enrolment_row.evaluator_id = evaluator_id
        return evaluator_id


def test_assign_picks_the_eligible_evaluator_with_fewest_open_reviews(
    private_sessions: SessionFactory,
) -> None:
    review = Review(private_sessions)
    busy = review.evaluator("a-busy", credentials=[review.doc.id])
    free = review.evaluator("b-free", credentials=[review.doc.id])
    review.reviewing(busy, 1)
    # Finished reviews and reviews awaiting the member's resubmission are not open.
    review.reviewing(free, 2, status=Status.APPROVED)
    review.reviewing(free, 1, status=Status.RESUBMISSION_REQUESTED)

    assert review.assign(review.submitted()) == free

    review.reviewing(free, 1)  # now free has 2 open (with the one just assigned), busy 1
    assert review.assign(review.submitted()) == busy


def test_assign_never_picks_the_member(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    teacher = review.evaluator("a-teacher")  # evaluates everything, and enrols too
    seeded = review.submitted(member_id=teacher)
    assert review.assign(seeded) is None

    colleague = review.evaluator("b-colleague", credentials=[review.doc.id])
    review.reviewing(colleague, 3)
    assert review.assign(seeded) == colleague


def test_assign_honours_registration_for_a_credential_or_for_all(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    review.evaluator("a-elsewhere", credentials=[review.other.id])  # idle, but not for this credential
    everything = review.evaluator("b-everything")
    this_one = review.evaluator("c-this-one", credentials=[review.other.id, review.doc.id])
    review.reviewing(this_one, 1)

    assert review.assign(review.submitted()) == everything  # registered for all, least loaded
    assert review.assign(review.submitted()) == everything  # 1 open review each: the tie goes by id
    assert review.assign(review.submitted()) == this_one  # registered for this credential among others


def test_assign_skips_excluded_evaluators(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    first = review.evaluator("a-first", credentials=[review.doc.id])
    second = review.evaluator("b-second", credentials=[review.doc.id])
    review.reviewing(second, 2)

    assert review.assign(review.submitted(), exclude=(first,)) == second
    assert review.assign(review.submitted(), exclude=(first, second)) is None


def test_assign_takes_an_eligible_preferred_evaluator_only(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    idle = review.evaluator("a-idle", credentials=[review.doc.id])
    loaded = review.evaluator("b-loaded", credentials=[review.doc.id])
    review.reviewing(loaded, 5)
    outsider = review.evaluator("c-outsider", credentials=[review.other.id])

    assert review.assign(review.submitted(), preferred=loaded) == loaded  # eligible: chosen despite load
    unassigned = review.submitted()
    assert review.assign(unassigned, preferred=outsider) is None  # not registered for this credential
    assert review.assign(unassigned, preferred=unassigned.member_id) is None  # the member themself
    assert review.assign(unassigned, preferred=idle, exclude=(idle,)) is None
    assert review.assign(unassigned, preferred=uid("nobody")) is None


def test_assign_skips_evaluators_off_duty(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    away = review.evaluator("a-away", credentials=[review.doc.id])  # idle and first by id, but away
    here = review.evaluator("b-here", credentials=[review.doc.id])
    review.reviewing(here, 3)
    with transaction(private_sessions) as session:
        people.set_duty(session, evaluator_id=away, on_duty=False)

    assert review.assign(review.submitted()) == here  # automatic assignment (and the SLA's)
    unassigned = review.submitted()
    assert review.assign(unassigned, preferred=away) is None  # a claim, or an admin naming them
    assert review.assign(unassigned, exclude=(here,)) is None  # nobody on duty left: it waits

    with transaction(private_sessions) as session:
        people.set_duty(session, evaluator_id=away, on_duty=True)
    assert review.assign(unassigned, preferred=away) == away


def test_assign_picks_without_writing(private_sessions: SessionFactory) -> None:
    review = Review(private_sessions)
    first = review.evaluator("a-first", credentials=[review.doc.id])
    seeded = review.submitted()
    result = run(
        review.acts.assign_evaluator,
        AssignInput(
            enrolment_id=seeded.enrolment_id,
            attempt=1,
            credential_id=seeded.credential_id,
            member_id=seeded.member_id,
        ),
    )
    assert result.evaluator_id == first
    # Only the workflow writes the read model; the queue shows the pick once it is recorded.
    assert row(private_sessions, seeded.enrolment_id).evaluator_id is None


# --- store.grant_community --------------------------------------------------------------------


def test_grant_community_once(sessions: SessionFactory) -> None:
    acts = StoreActivities(sessions)
    doc = publish(
        sessions, credential_doc(community={"id": uid("community"), "name": "Inquiry practitioners"})
    )
    assert doc.community is not None
    seeded = enrolment(sessions, doc)
    inp = CommunityInput(
        enrolment_id=seeded.enrolment_id, member_id=seeded.member_id, community_id=doc.community.id, at=AT
    )

    run(acts.grant_community, inp)
    run(acts.grant_community, inp)  # a retry
    # The same member buys the credential again later (after an expiry): access was already given.
    with transaction(sessions) as session:
        stale = session.get(Enrolment, seeded.enrolment_id)
        assert stale is not None
        stale.status = Status.EXPIRED.value
    again = enrolment(sessions, doc, member_id=seeded.member_id)
    run(
        acts.grant_community,
        inp.model_copy(update={"enrolment_id": again.enrolment_id, "at": AT + timedelta(days=400)}),
    )

    with sessions() as session:
        granted = session.exec(
            select(CommunityMembership).where(CommunityMembership.member_id == seeded.member_id)
        ).all()
    assert [(g.community_id, g.enrolment_id, g.granted_at) for g in granted] == [
        (doc.community.id, seeded.enrolment_id, AT)
    ]
