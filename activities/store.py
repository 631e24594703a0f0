"""Activities over the database: the read model, snapshots, marks, assignment, communities.

Synchronous (SQLModel sessions block), so the worker runs them on its thread pool. Each is
idempotent: read-model writes carry the workflow's sequence number, snapshots and marks are
keyed by (enrolment, attempt), timeline events by their write key.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col
from temporalio import activity

from activities.failures import business_failure
from microcred.contracts import (
    AssignInput,
    AssignResult,
    CommunityInput,
    DecisionInput,
    FreezeInput,
    FreezeResult,
    FrozenFile,
    RecordInput,
)
from microcred.db import (
    SessionFactory,
    insert_ignoring_duplicates,
    lock_enrolment_with,
    one_statement,
    reading,
    transaction,
)
from microcred.errors import InvalidState, TasksIncomplete
from microcred.lifecycle import Status
from microcred.models import CommunityMembership, Enrolment, RubricMark, Submission
from microcred.services import assignment, readmodel, work


class StoreActivities:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name="store.record")
    def record(self, inp: RecordInput) -> None:
        """Write the enrolment's read model and one timeline event (one statement on PostgreSQL)."""
        with one_statement(self._sessions) as session:
            readmodel.write(session, view=inp.view, events=[inp.event])

    @activity.defn(name="store.freeze_submission")
    def freeze_submission(self, inp: FreezeInput) -> FreezeResult:
        """Freeze the newest responses as the attempt's submission and show it under review,
        with the evaluator the workflow picked (or none: then it is claimable).

        Runs under the enrolment's row lock, as every task save does: a save either made it
        into the snapshot or is refused afterwards.
        """
        view = inp.view
        assert view.submitted_at is not None
        with transaction(self._sessions) as session:
            # The lock's statement also says whether the attempt is frozen already (a retry).
            done = (
                sa.select(sa.literal(1))
                .where(col(Submission.enrolment_id) == Enrolment.id, col(Submission.attempt) == view.attempt)
                .correlate(Enrolment)
                .exists()
            )
            enrolment, again = lock_enrolment_with(session, view.enrolment_id, done)
            existing = session.get(Submission, (view.enrolment_id, view.attempt)) if again else None
            if existing is None:
                if enrolment.status != Status.IN_PROGRESS:
                    raise business_failure(
                        InvalidState("the enrolment is not in progress", status=enrolment.status)
                    )
                latest = work.latest_responses(session, enrolment_id=enrolment.id)
                files = work.current_files(session, enrolment_id=enrolment.id)
                answered = set(work.answered(latest, files))
                missing = [t for t in inp.required_task_ids if t not in answered]
                if missing:
                    raise business_failure(
                        TasksIncomplete("answer every required task before submitting", tasks=missing)
                    )
                existing = work.freeze(
                    session,
                    enrolment=enrolment,
                    attempt=view.attempt,
                    submitted_at=view.submitted_at,
                    latest=latest,
                    files=files,
                )
            readmodel.write(session, view=view, events=[inp.event, inp.assignment])
            frozen = [
                FrozenFile(id=f["id"], sha256=f["sha256"])
                for files in (existing.attachments or {}).values()
                for f in files
            ]
            return FreezeResult(task_count=len(existing.responses), attachments=frozen)

    @activity.defn(name="store.record_decision")
    def record_decision(self, inp: DecisionInput) -> None:
        """Store the marked rubric and the outcome of the attempt, and the new status."""
        view = inp.view
        with transaction(self._sessions) as session:
            # The read model first: its update locks the enrolment's row, as every writer of
            # the enrolment does (a refusal below rolls it back).
            readmodel.write(session, view=view, events=[inp.event])
            # Decided once: the first decision's update is the one that stores the marks.
            decided = session.execute(
                sa.update(Submission)
                .where(
                    col(Submission.enrolment_id) == view.enrolment_id,
                    col(Submission.attempt) == view.attempt,
                    col(Submission.outcome).is_(None),
                )
                .values(
                    outcome=inp.outcome.value,
                    feedback=inp.feedback,
                    evaluator_id=inp.evaluator_id,
                    decided_at=inp.event.at,
                )
                .returning(col(Submission.attempt))
                .execution_options(synchronize_session=False)
            ).first()
            if decided is None:
                if session.get(Submission, (view.enrolment_id, view.attempt)) is None:
                    enrolment = session.get(Enrolment, view.enrolment_id)
                    status = enrolment.status if enrolment else None
                    raise business_failure(InvalidState("no submission to decide", status=status))
                return
            if inp.marks:
                session.execute(
                    sa.insert(RubricMark).values(
                        [
                            {
                                "enrolment_id": view.enrolment_id,
                                "attempt": view.attempt,
                                "criterion_id": mark.criterion_id,
                                "section_id": mark.section_id,
                                "met": mark.met,
                                "comment": mark.comment,
                            }
                            for mark in inp.marks
                        ]
                    )
                )

    @activity.defn(name="store.assign_evaluator")
    def assign_evaluator(self, inp: AssignInput) -> AssignResult:
        """Pick the review's evaluator: ``preferred`` if eligible, else the least loaded one.

        A pick writes nothing: the workflow records it in the read model with the rest of its
        state, so the review queue never shows an assignment the workflow does not hold yet.
        """
        with reading(self._sessions) as session:
            candidates = [
                e
                for e, _ in assignment.eligible_evaluators(
                    session, credential_id=inp.credential_id, member_id=inp.member_id, exclude=inp.exclude
                )
            ]
            if inp.preferred is not None:
                return AssignResult(evaluator_id=inp.preferred if inp.preferred in candidates else None)
            return AssignResult(evaluator_id=candidates[0] if candidates else None)

    @activity.defn(name="store.grant_community")
    def grant_community(self, inp: CommunityInput) -> None:
        """Give the member access to the credential's community (once: a second grant is ignored)."""
        with one_statement(self._sessions) as session:
            session.execute(
                insert_ignoring_duplicates(
                    session, CommunityMembership, ("member_id", "community_id")
                ).values(
                    member_id=inp.member_id,
                    community_id=inp.community_id,
                    enrolment_id=inp.enrolment_id,
                    granted_at=inp.at,
                )
            )
