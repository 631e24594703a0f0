"""What members read: My Learning, one enrolment with its work, the rubric, the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from microcred import pagination
from microcred.contracts import Audience
from microcred.documents import EvidenceDoc
from microcred.errors import NotFound
from microcred.models import (
    Community,
    CommunityMembership,
    Credential,
    Criterion,
    Enrolment,
    Notification,
    Payment,
    PaymentStatus,
    Resource,
    RubricMark,
    Section,
    Submission,
    Task,
    TimelineEntry,
)
from microcred.pagination import Key
from microcred.services import evidence as files
from microcred.services import work
from microcred.services.evidence import Evidence

# My Learning lists the newest enrolments first; notifications likewise; a timeline in order.
LEARNING_ORDER = (
    Key(col(Enrolment.created_at), descending=True, is_datetime=True),
    Key(col(Enrolment.id), descending=True),
)
NOTIFICATION_ORDER = (
    Key(col(Notification.created_at), descending=True, is_datetime=True),
    Key(col(Notification.id), descending=True),
)
TIMELINE_ORDER = (Key(col(TimelineEntry.at), is_datetime=True), Key(col(TimelineEntry.id)))


def _badge_url(api_base_url: str, badge_id: str | None) -> str | None:
    return f"{api_base_url}/badges/{badge_id}" if badge_id else None


def _item(row: Any, api_base_url: str) -> dict[str, Any]:
    enrolment: Enrolment = row.Enrolment
    community = (
        {
            "id": row.community_id,
            "name": row.community_name,
            "url": row.community_url,
            "access": row.granted is not None,
        }
        if row.community_id
        else None
    )
    return {
        "enrolment_id": enrolment.id,
        "credential_id": enrolment.credential_id,
        "title": row.title,
        "status": enrolment.status,
        "attempt": enrolment.attempt,
        "purchased_at": enrolment.purchased_at,
        "due_at": enrolment.due_at,
        "submitted_at": enrolment.submitted_at,
        "review_due_at": enrolment.review_due_at,
        "decision": enrolment.decision,
        "community": community,
        "badge_url": _badge_url(api_base_url, enrolment.badge_id),
    }


def _learning_query() -> Any:
    """Enrolments with their title and community access: one indexed query, no N+1."""
    return (
        sa.select(
            Enrolment,
            col(Credential.title).label("title"),
            col(Community.id).label("community_id"),
            col(Community.name).label("community_name"),
            col(Community.url).label("community_url"),
            col(CommunityMembership.granted_at).label("granted"),
        )
        .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .outerjoin(Community, col(Community.id) == col(Credential.community_id))
        .outerjoin(
            CommunityMembership,
            sa.and_(
                col(CommunityMembership.member_id) == col(Enrolment.member_id),
                col(CommunityMembership.community_id) == col(Community.id),
            ),
        )
    )


def my_learning(
    session: Session, *, member_id: str, api_base_url: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the member's enrolments, newest first, and the next page's cursor."""
    query = _learning_query().where(col(Enrolment.member_id) == member_id)
    rows = session.exec(pagination.paginate(query, LEARNING_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(
        rows, limit=limit, key_of=lambda r: (r.Enrolment.created_at, r.Enrolment.id)
    )
    return [_item(row, api_base_url) for row in items], next_cursor


def latest_rubric(session: Session, *, enrolment_id: str) -> dict[str, Any] | None:
    """The most recent decided attempt's marks, or None before any decision."""
    submission = session.exec(
        select(Submission)
        .where(Submission.enrolment_id == enrolment_id, col(Submission.outcome).is_not(None))
        .order_by(col(Submission.attempt).desc())
    ).first()
    if submission is None:
        return None
    return rubric_of(session, submission=submission)


def rubric_of(session: Session, *, submission: Submission) -> dict[str, Any]:
    """A decided attempt's marks, criterion by criterion in the credential's order, with titles."""
    marks = session.exec(
        select(RubricMark, col(Criterion.title))
        .join(Enrolment, col(Enrolment.id) == col(RubricMark.enrolment_id))
        .join(
            Criterion,
            sa.and_(
                col(Criterion.credential_id) == col(Enrolment.credential_id),
                col(Criterion.id) == col(RubricMark.criterion_id),
            ),
        )
        .join(
            Section,
            sa.and_(
                col(Section.credential_id) == col(Criterion.credential_id),
                col(Section.id) == col(Criterion.section_id),
            ),
        )
        .where(RubricMark.enrolment_id == submission.enrolment_id, RubricMark.attempt == submission.attempt)
        .order_by(col(Section.position), col(Criterion.position))
    ).all()
    return {
        "attempt": submission.attempt,
        "decision": submission.outcome,
        "feedback": submission.feedback,
        "criteria": [
            {
                "criterion_id": m.criterion_id,
                "section_id": m.section_id,
                "title": title,
                "met": m.met,
                "comment": m.comment,
            }
            for m, title in marks
        ],
    }


def attempts(session: Session, *, enrolment_id: str, evidence: Evidence) -> list[dict[str, Any]]:
    """Every submitted attempt, oldest first: the frozen responses and, once decided, the marks."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    cid = enrolment.credential_id
    order = {s.id: s.position for s in session.exec(select(Section).where(Section.credential_id == cid))}
    tasks = sorted(
        session.exec(select(Task).where(Task.credential_id == cid)).all(),
        key=lambda t: (order[t.section_id], t.position),
    )
    submissions = session.exec(
        select(Submission).where(Submission.enrolment_id == enrolment_id).order_by(col(Submission.attempt))
    ).all()
    return [
        {
            "attempt": s.attempt,
            "submitted_at": s.submitted_at,
            "decided_at": s.decided_at,
            "decision": s.outcome,
            "tasks": frozen_tasks(tasks, s, evidence),
            "rubric": rubric_of(session, submission=s) if s.outcome else None,
        }
        for s in submissions
    ]


def frozen_tasks(tasks: list[Task], submission: Submission, evidence: Evidence) -> list[dict[str, Any]]:
    """The tasks of a credential with a submission's frozen responses and files (the files with
    short-lived download URLs)."""
    responses, attached = submission.responses, submission.attachments or {}
    return [
        {
            "task_id": t.id,
            "section_id": t.section_id,
            "prompt": t.prompt,
            "required": t.required,
            "response": responses.get(t.id, {}).get("response"),
            "version": responses.get(t.id, {}).get("version"),
            "attachments": files.with_links(evidence, submission.enrolment_id, attached.get(t.id, [])),
        }
        for t in tasks
    ]


def summary(
    session: Session, *, enrolment_id: str, member_id: str | None, api_base_url: str
) -> tuple[Enrolment, dict[str, Any]]:
    """One enrolment's row and its My Learning item; when ``member_id`` is named, only that
    member's (someone else's is as missing as a missing one)."""
    query = _learning_query().where(col(Enrolment.id) == enrolment_id)
    if member_id is not None:
        query = query.where(col(Enrolment.member_id) == member_id)
    row = session.exec(query).first()
    if row is None:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return row.Enrolment, _item(row, api_base_url)


def sections(
    session: Session, *, enrolment: Enrolment, now: datetime, evidence: Evidence
) -> list[dict[str, Any]]:
    """The credential's sections with the enrolment's latest saved work and files, each task
    ``editable`` as its member sees it at ``now``."""
    cid = enrolment.credential_id
    rows = session.exec(
        select(Section).where(Section.credential_id == cid).order_by(col(Section.position))
    ).all()
    tasks = session.exec(select(Task).where(Task.credential_id == cid).order_by(col(Task.position))).all()
    resources = session.exec(
        select(Resource).where(Resource.credential_id == cid).order_by(col(Resource.position))
    ).all()
    criteria = session.exec(
        select(Criterion).where(Criterion.credential_id == cid).order_by(col(Criterion.position))
    ).all()
    latest = work.latest_responses(session, enrolment_id=enrolment.id)
    on_tasks = work.files_by_task(session, enrolment_id=enrolment.id)
    return [
        {
            "id": s.id,
            "title": s.title,
            "guidance": s.guidance,
            "resources": [{"title": r.title, "url": r.url} for r in resources if r.section_id == s.id],
            "tasks": [
                {
                    "id": t.id,
                    "prompt": t.prompt,
                    "required": t.required,
                    "response": latest[t.id].response if t.id in latest else None,
                    "version": latest[t.id].version if t.id in latest else None,
                    "saved_at": latest[t.id].saved_at if t.id in latest else None,
                    "editable": work.section_editable(enrolment, s.id, now=now),
                    "evidence": EvidenceDoc.model_validate(t.evidence) if t.evidence else None,
                    "attachments": files.with_links(
                        evidence, enrolment.id, [files.frozen(a) for a in on_tasks.kept.get(t.id, [])]
                    ),
                    "unfinished": [
                        {"id": a.id, "filename": a.filename, "size": a.size, "declared_at": a.created_at}
                        for a in on_tasks.unfinished.get(t.id, [])
                    ],
                }
                for t in tasks
                if t.section_id == s.id
            ],
            "rubric": [
                {"id": c.id, "title": c.title, "description": c.description}
                for c in criteria
                if c.section_id == s.id
            ],
        }
        for s in rows
    ]


def enrolment_detail(
    session: Session,
    *,
    enrolment_id: str,
    member_id: str,
    api_base_url: str,
    now: datetime,
    evidence: Evidence,
) -> dict[str, Any]:
    """One enrolment as its member sees it at ``now``: status, open checkout, sections with their work."""
    enrolment, detail = summary(
        session, enrolment_id=enrolment_id, member_id=member_id, api_base_url=api_base_url
    )
    detail["checkout_url"] = enrolment.checkout_url
    detail["checkout_session_id"] = enrolment.checkout_session_id
    detail["sections"] = sections(session, enrolment=enrolment, now=now, evidence=evidence)
    detail["rubric"] = latest_rubric(session, enrolment_id=enrolment.id)
    detail["payment_processing"] = _payment_processing(session, enrolment)
    return detail


def _payment_processing(session: Session, enrolment: Enrolment) -> bool:
    """Whether a payment of the current attempt was made and awaits its bank's confirmation."""
    processing = session.exec(
        select(Payment.checkout_session_id).where(
            Payment.enrolment_id == enrolment.id,
            Payment.attempt == enrolment.attempt,
            Payment.status == PaymentStatus.PROCESSING,
        )
    ).first()
    return processing is not None


def timeline(
    session: Session, *, enrolment_id: str, cursor: str | None, limit: int
) -> tuple[list[TimelineEntry], str | None]:
    """One page of an enrolment's lifecycle events, in order, and the next page's cursor."""
    if session.get(Enrolment, enrolment_id) is None:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    query = select(TimelineEntry).where(TimelineEntry.enrolment_id == enrolment_id)
    rows = session.exec(pagination.paginate(query, TIMELINE_ORDER, cursor=cursor, limit=limit)).all()
    return pagination.page(rows, limit=limit, key_of=lambda e: (e.at, e.id))


def notifications(
    session: Session, *, person_id: str, admin: bool, cursor: str | None, limit: int
) -> tuple[list[Notification], str | None]:
    """One page of a person's notifications, newest first; an admin's include the escalations
    to all admins.

    Addressed by audience as well as by id, so no one whose id happens to read "admins" sees them.
    """
    to_all_admins = col(Notification.audience) == Audience.ADMINS.value
    personal = (col(Notification.recipient_id) == person_id) & ~to_all_admins
    query = select(Notification).where(or_(personal, to_all_admins) if admin else personal)
    rows = session.exec(pagination.paginate(query, NOTIFICATION_ORDER, cursor=cursor, limit=limit)).all()
    return pagination.page(rows, limit=limit, key_of=lambda n: (n.created_at, n.id))
