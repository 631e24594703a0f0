"""The member's work: versioned task responses, editability and frozen submissions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from microcred.db import lock_enrolment
from microcred.errors import NotEditable, NotFound, VersionConflict
from microcred.lifecycle import Status
from microcred.models import Attachment, Enrolment, Submission, Task, TaskResponse

# Drafts kept per task: the newest, for the submission and the version check, and the ones just
# before it. Older drafts were overwritten by the member's own later text; keeping every
# autosave for ever would let one member grow the database without bound.
KEPT_VERSIONS = 20


def is_answered(response: str | None) -> bool:
    return bool(response and response.strip())


def latest_responses(session: Session, *, enrolment_id: str) -> dict[str, TaskResponse]:
    """The newest saved version of every task that has one."""
    newest = (
        select(TaskResponse.task_id, sa.func.max(TaskResponse.version).label("version"))
        .where(TaskResponse.enrolment_id == enrolment_id)
        .group_by(col(TaskResponse.task_id))
        .subquery()
    )
    rows = session.exec(
        select(TaskResponse)
        .join(
            newest,
            sa.and_(
                col(TaskResponse.task_id) == newest.c.task_id,
                col(TaskResponse.version) == newest.c.version,
            ),
        )
        .where(TaskResponse.enrolment_id == enrolment_id)
    ).all()
    return {r.task_id: r for r in rows}


def _with_files(enrolment_id: str) -> SelectOfScalar[Attachment]:
    """The verified attachments a task holds now (none removed)."""
    return select(Attachment).where(
        Attachment.enrolment_id == enrolment_id,
        Attachment.status == "complete",
        col(Attachment.removed_at).is_(None),
    )


def answered_task_ids(session: Session, *, enrolment_id: str) -> list[str]:
    """Tasks answered in text, or with at least one verified file."""
    texts = {
        t for t, r in latest_responses(session, enrolment_id=enrolment_id).items() if is_answered(r.response)
    }
    files = {a.task_id for a in session.exec(_with_files(enrolment_id)).all()}
    return sorted(texts | files)


def edit_refusal(enrolment: Enrolment, section_id: str, *, now: datetime) -> str | None:
    """Why the member cannot edit a section's tasks at ``now``, or None when they can.

    The one editing rule: work is editable while in progress, before the deadline, and on a
    later attempt only in the sections that failed.
    """
    kept = enrolment.editable_sections is not None and section_id not in enrolment.editable_sections
    if enrolment.status != Status.IN_PROGRESS or kept:
        return "this task cannot be edited now"
    if enrolment.due_at is not None and now >= enrolment.due_at:
        # The workflow expires the enrolment at this moment; until its timer has run (a worker
        # restarting, say), the status still reads in_progress, but the deadline holds.
        return "the submission deadline has passed"
    return None


def section_editable(enrolment: Enrolment, section_id: str, *, now: datetime) -> bool:
    """Whether the member can edit a section's tasks at ``now`` (see ``edit_refusal``)."""
    return edit_refusal(enrolment, section_id, now=now) is None


def save_response(
    session: Session,
    *,
    enrolment: Enrolment,
    task_id: str,
    response: str,
    now: datetime,
    base_version: int | None = None,
) -> TaskResponse:
    """Append a new version of a task's response. ``enrolment`` must be locked by the caller.

    With ``base_version`` (the version the text was edited from, 0 for none) a save made from
    stale text is refused, so work saved in another tab is never overwritten unseen.
    """
    task = session.get(Task, (enrolment.credential_id, task_id))
    if task is None:
        raise NotFound("no such task in this credential", task_id=task_id)
    refused = edit_refusal(enrolment, task.section_id, now=now)
    if refused is not None:
        raise NotEditable(refused, task_id=task_id, status=enrolment.status, section_id=task.section_id)
    latest = session.exec(
        select(TaskResponse)
        .where(TaskResponse.enrolment_id == enrolment.id, TaskResponse.task_id == task_id)
        .order_by(col(TaskResponse.version).desc())
        .limit(1)
    ).first()
    current = latest.version if latest else 0
    if base_version is not None and base_version != current and latest is not None:
        raise VersionConflict(
            "this answer was saved from another tab or device after the version you edited",
            task_id=task_id,
            current={"version": latest.version, "response": latest.response, "saved_at": latest.saved_at},
        )
    if latest is not None and latest.response == response and latest.attempt == enrolment.attempt:
        return latest  # the same text again (a retried save, a second tab in step): nothing new
    saved = TaskResponse(
        enrolment_id=enrolment.id,
        task_id=task_id,
        version=current + 1,
        attempt=enrolment.attempt,
        response=response,
        saved_at=now,
    )
    session.add(saved)
    session.execute(
        sa.delete(TaskResponse).where(
            col(TaskResponse.enrolment_id) == enrolment.id,
            col(TaskResponse.task_id) == task_id,
            col(TaskResponse.version) <= current + 1 - KEPT_VERSIONS,
        )
    )
    return saved


def freeze(session: Session, *, enrolment: Enrolment, attempt: int, submitted_at: datetime) -> Submission:
    """Copy the newest response of every task, and the files it holds (by id and hash: their
    objects are immutable), into attempt ``attempt``'s submission."""
    latest = latest_responses(session, enrolment_id=enrolment.id)
    snapshot = {
        task_id: {"version": r.version, "response": r.response, "saved_at": r.saved_at.isoformat()}
        for task_id, r in sorted(latest.items())
    }
    files: dict[str, list[dict[str, object]]] = {}
    query = _with_files(enrolment.id).order_by(col(Attachment.uploaded_at), col(Attachment.id))
    for attachment in session.exec(query).all():
        if attachment.submitted_in is None:
            attachment.submitted_in = attempt  # from now on its object outlives any removal
        files.setdefault(attachment.task_id, []).append(
            {
                "id": attachment.id,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
        )
    submission = Submission(
        enrolment_id=enrolment.id,
        attempt=attempt,
        submitted_at=submitted_at,
        responses=snapshot,
        attachments=files,
    )
    session.add(submission)
    return submission


def save_task(
    session: Session,
    *,
    enrolment_id: str,
    member_id: str,
    task_id: str,
    response: str,
    now: datetime,
    base_version: int | None = None,
) -> TaskResponse:
    """The member saves a task: a new durable version, refused where editing is not allowed."""
    enrolment = lock_enrolment(session, enrolment_id)
    if enrolment.member_id != member_id:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return save_response(
        session, enrolment=enrolment, task_id=task_id, response=response, now=now, base_version=base_version
    )
