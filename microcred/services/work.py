"""The member's work: versioned task responses, editability and frozen submissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from microcred.db import lock_enrolment_with
from microcred.errors import NotEditable, NotFound, VersionConflict
from microcred.lifecycle import Status
from microcred.models import Attachment, AttachmentStatus, Enrolment, Submission, Task, TaskResponse

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


def _files(enrolment_id: str, *statuses: AttachmentStatus) -> SelectOfScalar[Attachment]:
    """The attachments the tasks hold now (none removed) in ``statuses``, oldest first."""
    return (
        select(Attachment)
        .where(
            Attachment.enrolment_id == enrolment_id,
            col(Attachment.status).in_(statuses),
            col(Attachment.removed_at).is_(None),
        )
        .order_by(col(Attachment.created_at), col(Attachment.id))
    )


def current_files(session: Session, *, enrolment_id: str) -> list[Attachment]:
    """The verified attachments the tasks hold now, oldest first."""
    return list(session.exec(_files(enrolment_id, AttachmentStatus.COMPLETE)).all())


@dataclass(frozen=True)
class TaskFiles:
    """Each task's files: those kept (verified), and those declared but never completed, which
    hold a place among its files until completed, removed, or swept."""

    kept: dict[str, list[Attachment]]
    unfinished: dict[str, list[Attachment]]


def files_by_task(session: Session, *, enrolment_id: str) -> TaskFiles:
    """One query for the files of every task of an enrolment."""
    files = TaskFiles(kept={}, unfinished={})
    for row in session.exec(_files(enrolment_id, AttachmentStatus.COMPLETE, AttachmentStatus.PENDING)):
        group = files.kept if row.status == AttachmentStatus.COMPLETE else files.unfinished
        group.setdefault(row.task_id, []).append(row)
    return files


def answered(latest: dict[str, TaskResponse], files: list[Attachment]) -> list[str]:
    """Tasks answered in text (``latest``), or with at least one verified file (``files``)."""
    texts = {t for t, r in latest.items() if is_answered(r.response)}
    return sorted(texts | {a.task_id for a in files})


def answered_task_ids(session: Session, *, enrolment_id: str) -> list[str]:
    """Tasks answered in text, or with at least one verified file."""
    return answered(
        latest_responses(session, enrolment_id=enrolment_id),
        current_files(session, enrolment_id=enrolment_id),
    )


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


def _latest(enrolment_id: str, task_id: str) -> sa.Subquery:
    """A task's newest saved version (none, or one row)."""
    return (
        sa.select(col(TaskResponse.version), col(TaskResponse.response), col(TaskResponse.attempt))
        .where(col(TaskResponse.enrolment_id) == enrolment_id, col(TaskResponse.task_id) == task_id)
        .order_by(col(TaskResponse.version).desc())
        .limit(1)
        .subquery("latest")
    )


def save_response(
    session: Session,
    *,
    enrolment: Enrolment,
    task_id: str,
    response: str,
    now: datetime,
    base_version: int | None = None,
    section_id: str | None = None,
) -> TaskResponse:
    """Append a new version of a task's response. ``enrolment`` must be locked by the caller
    (``section_id``: the task's section, when the caller has read it already).

    With ``base_version`` (the version the text was edited from, 0 for none) a save made from
    stale text is refused, so work saved in another tab is never overwritten unseen.
    """
    if section_id is None:
        task = session.get(Task, (enrolment.credential_id, task_id))
        if task is None:
            raise NotFound("no such task in this credential", task_id=task_id)
        section_id = task.section_id
    refused = edit_refusal(enrolment, section_id, now=now)
    if refused is not None:
        raise NotEditable(refused, task_id=task_id, status=enrolment.status, section_id=section_id)
    # One statement checks the version and appends the next one, unless the newest version
    # conflicts with ``base_version`` or holds this same text already (then the one read below
    # says which: both are rare, a retried save or a second tab).
    latest = _latest(enrolment.id, task_id)
    conflict = sa.false() if base_version is None else latest.c.version != base_version
    same = sa.and_(latest.c.response == response, latest.c.attempt == enrolment.attempt)
    table: sa.Table = TaskResponse.__table__  # type: ignore[attr-defined]
    column = table.c
    next_version = (
        sa.select(sa.func.coalesce(sa.func.max(column.version), 0) + 1)
        .where(column.enrolment_id == enrolment.id, column.task_id == task_id)
        .scalar_subquery()
    )
    appended = session.execute(
        sa.insert(table)
        .from_select(
            ["enrolment_id", "task_id", "version", "attempt", "response", "saved_at"],
            sa.select(
                sa.literal(enrolment.id, column.enrolment_id.type),
                sa.literal(task_id, column.task_id.type),
                next_version,
                sa.literal(enrolment.attempt, column.attempt.type),
                sa.literal(response, column.response.type),
                sa.literal(now, column.saved_at.type),
            ).where(~sa.exists(sa.select(latest.c.version).where(sa.or_(conflict, same)))),
        )
        .returning(column.id, column.version)
    ).first()
    if appended is None:
        newest = session.exec(
            select(TaskResponse)
            .where(TaskResponse.enrolment_id == enrolment.id, TaskResponse.task_id == task_id)
            .order_by(col(TaskResponse.version).desc())
            .limit(1)
        ).one()
        if base_version is not None and base_version != newest.version:
            raise VersionConflict(
                "this answer was saved from another tab or device after the version you edited",
                task_id=task_id,
                current={"version": newest.version, "response": newest.response, "saved_at": newest.saved_at},
            )
        return newest  # the same text again (a retried save, a second tab in step): nothing new
    version = appended.version
    if version > KEPT_VERSIONS:
        session.execute(
            sa.delete(TaskResponse).where(
                col(TaskResponse.enrolment_id) == enrolment.id,
                col(TaskResponse.task_id) == task_id,
                col(TaskResponse.version) <= version - KEPT_VERSIONS,
            )
        )
    return TaskResponse(
        id=appended.id,
        enrolment_id=enrolment.id,
        task_id=task_id,
        version=version,
        attempt=enrolment.attempt,
        response=response,
        saved_at=now,
    )


def freeze(
    session: Session,
    *,
    enrolment: Enrolment,
    attempt: int,
    submitted_at: datetime,
    latest: dict[str, TaskResponse] | None = None,
    files: list[Attachment] | None = None,
) -> Submission:
    """Copy the newest response of every task, and the files it holds (by id and hash: their
    objects are immutable), into attempt ``attempt``'s submission. ``latest`` and ``files``:
    ``latest_responses`` and ``current_files`` as the caller read them under the row lock."""
    if latest is None:
        latest = latest_responses(session, enrolment_id=enrolment.id)
    if files is None:
        files = current_files(session, enrolment_id=enrolment.id)
    snapshot = {
        task_id: {"version": r.version, "response": r.response, "saved_at": r.saved_at.isoformat()}
        for task_id, r in sorted(latest.items())
    }
    held: dict[str, list[dict[str, object]]] = {}
    for attachment in files:
        if attachment.submitted_in is None:
            attachment.submitted_in = attempt  # from now on its object outlives any removal
        held.setdefault(attachment.task_id, []).append(
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
        attachments=held,
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
    # The enrolment's row lock (see db.lock_enrolment) hands back the task's section too.
    section = (
        sa.select(col(Task.section_id))
        .where(col(Task.credential_id) == Enrolment.credential_id, col(Task.id) == task_id)
        .correlate(Enrolment)
        .scalar_subquery()
    )
    enrolment, section_id = lock_enrolment_with(session, enrolment_id, section)
    if enrolment.member_id != member_id:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    if section_id is None:
        raise NotFound("no such task in this credential", task_id=task_id)
    return save_response(
        session,
        enrolment=enrolment,
        task_id=task_id,
        response=response,
        now=now,
        base_version=base_version,
        section_id=section_id,
    )
