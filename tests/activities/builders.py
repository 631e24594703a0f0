"""Rows and activity inputs for the activity tests. Every call makes fresh ids: each test owns its data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from microcred.contracts import EnrolmentView, EventKind, FreezeInput, Status, TimelineEvent
from microcred.db import SessionFactory, transaction
from microcred.documents import CredentialDoc
from microcred.models import Enrolment, Member
from microcred.services import work
from tests.support import publish, uid

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The deadline lies ahead of the wall clock (saves after it are refused), whenever the tests run.
DUE_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(days=300)
# The required tasks of tests.support.credential_doc (plan-2 is optional).
REQUIRED = ["plan-1", "reflect-1"]


@dataclass(frozen=True)
class Seeded:
    """An enrolment made for one test (ids only: tests never hold ORM rows across sessions)."""

    enrolment_id: str
    member_id: str
    credential_id: str


def add_member(sessions: SessionFactory, member_id: str | None = None, *, email: str | None = "") -> str:
    """A member (``email=""``: a made-up address, None: no address); an existing one is kept."""
    member_id = member_id or uid("member")
    with transaction(sessions) as session:
        if session.get(Member, member_id) is None:
            address = f"{member_id}@example.org" if email == "" else email
            session.add(Member(id=member_id, email=address, name=member_id))
    return member_id


def enrolment(
    sessions: SessionFactory,
    doc: CredentialDoc | None = None,
    *,
    status: Status = Status.IN_PROGRESS,
    member_id: str | None = None,
    attempt: int = 1,
    editable_sections: list[str] | None = None,
    seq: int = 1,
    evaluator_id: str | None = None,
) -> Seeded:
    """A read-model row as the workflow would have written it (seq ``seq``), for a new member."""
    doc = doc or publish(sessions)
    member_id = add_member(sessions, member_id)
    enrolment_id = uuid.uuid4().hex
    with transaction(sessions) as session:
        session.add(
            Enrolment(
                id=enrolment_id,
                member_id=member_id,
                credential_id=doc.id,
                status=status.value,
                attempt=attempt,
                purchased_at=AT,
                due_at=DUE_AT,
                submitted_at=AT if status is Status.UNDER_REVIEW else None,
                review_due_at=AT + timedelta(days=14) if status is Status.UNDER_REVIEW else None,
                evaluator_id=evaluator_id,
                editable_sections=editable_sections,
                seq=seq,
            )
        )
    return Seeded(enrolment_id=enrolment_id, member_id=member_id, credential_id=doc.id)


def view(seeded: Seeded, *, seq: int, status: Status, **fields: Any) -> EnrolmentView:
    values: dict[str, Any] = {
        "enrolment_id": seeded.enrolment_id,
        "seq": seq,
        "status": status,
        "attempt": 1,
        "purchased_at": AT,
        "due_at": DUE_AT,
        "submitted_at": None,
        "review_due_at": None,
        "decision": None,
        "evaluator_id": None,
        "review_overdue": False,
        "checkout_session_id": None,
        "checkout_url": None,
        "badge_id": None,
        "editable_sections": None,
    }
    values.update(fields)
    return EnrolmentView.model_validate(values)


def event(
    kind: EventKind, *, at: datetime = AT, actor: str | None = "system", **detail: Any
) -> TimelineEvent:
    return TimelineEvent(kind=kind, at=at, actor=actor, detail=detail)


def freeze_input(seeded: Seeded, *, seq: int, attempt: int = 1, submitted_at: datetime = AT) -> FreezeInput:
    """What the workflow's submit update sends: the under-review view and the required tasks."""
    return FreezeInput(
        view=view(
            seeded,
            seq=seq,
            status=Status.UNDER_REVIEW,
            attempt=attempt,
            submitted_at=submitted_at,
            review_due_at=submitted_at + timedelta(days=14),
        ),
        event=event(EventKind.SUBMITTED, at=submitted_at, actor=seeded.member_id, attempt=attempt),
        required_task_ids=REQUIRED,
        assignment=event(EventKind.REVIEW_UNASSIGNED, at=submitted_at),
    )


def save(sessions: SessionFactory, seeded: Seeded, task_id: str, response: str) -> int:
    """The member saves a task, as the API does; returns the committed version."""
    with transaction(sessions) as session:
        saved = work.save_task(
            session,
            enrolment_id=seeded.enrolment_id,
            member_id=seeded.member_id,
            task_id=task_id,
            response=response,
            now=datetime.now(UTC),
        )
        version = saved.version
    return version
