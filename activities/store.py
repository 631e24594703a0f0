"""Activities over the database: the read model, snapshots, marks, assignment, communities.

Synchronous (SQLModel sessions block), so the worker runs them on its thread pool. Each is
idempotent: read-model writes carry the workflow's sequence number, snapshots and marks are
keyed by (enrolment, attempt), timeline events by their write key.
"""

from __future__ import annotations

from sqlmodel import select
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
from microcred.db import SessionFactory, lock_enrolment, transaction
from microcred.errors import InvalidState, TasksIncomplete
from microcred.lifecycle import Status
from microcred.models import CommunityMembership, RubricMark, Submission
from microcred.services import assignment, readmodel, work


class StoreActivities:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name="store.record")
    def record(self, inp: RecordInput) -> None:
        """Write the enrolment's read model and one timeline event."""
        with transaction(self._sessions) as session:
            enrolment = lock_enrolment(session, inp.view.enrolment_id)
            readmodel.record(session, enrolment=enrolment, view=inp.view, events=[inp.event])

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
            enrolment = lock_enrolment(session, view.enrolment_id)
            existing = session.get(Submission, (view.enrolment_id, view.attempt))
            if existing is None:
                if enrolment.status != Status.IN_PROGRESS:
                    raise business_failure(
                        InvalidState("the enrolment is not in progress", status=enrolment.status)
                    )
                answered = set(work.answered_task_ids(session, enrolment_id=enrolment.id))
                missing = [t for t in inp.required_task_ids if t not in answered]
                if missing:
                    raise business_failure(
                        TasksIncomplete("answer every required task before submitting", tasks=missing)
                    )
                existing = work.freeze(
                    session, enrolment=enrolment, attempt=view.attempt, submitted_at=view.submitted_at
                )
            readmodel.record(session, enrolment=enrolment, view=view, events=[inp.event, inp.assignment])
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
            enrolment = lock_enrolment(session, view.enrolment_id)
            submission = session.get(Submission, (view.enrolment_id, view.attempt))
            if submission is None:
                raise business_failure(InvalidState("no submission to decide", status=enrolment.status))
            if submission.outcome is None:
                submission.outcome = inp.outcome.value
                submission.feedback = inp.feedback
                submission.evaluator_id = inp.evaluator_id
                submission.decided_at = inp.event.at
                for mark in inp.marks:
                    session.add(
                        RubricMark(
                            enrolment_id=view.enrolment_id,
                            attempt=view.attempt,
                            criterion_id=mark.criterion_id,
                            section_id=mark.section_id,
                            met=mark.met,
                            comment=mark.comment,
                        )
                    )
            readmodel.record(session, enrolment=enrolment, view=view, events=[inp.event])

    @activity.defn(name="store.assign_evaluator")
    def assign_evaluator(self, inp: AssignInput) -> AssignResult:
        """Pick the review's evaluator: ``preferred`` if eligible, else the least loaded one.

        A pick writes nothing: the workflow records it in the read model with the rest of its
        state, so the review queue never shows an assignment the workflow does not hold yet.
        """
        with self._sessions() as session:
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
        """Give the member access to the credential's community (once)."""
        with transaction(self._sessions) as session:
            existing = session.exec(
                select(CommunityMembership).where(
                    CommunityMembership.member_id == inp.member_id,
                    CommunityMembership.community_id == inp.community_id,
                )
            ).first()
            if existing is None:
                session.add(
                    CommunityMembership(
                        member_id=inp.member_id,
                        community_id=inp.community_id,
                        enrolment_id=inp.enrolment_id,
                        granted_at=inp.at,
                    )
                )
