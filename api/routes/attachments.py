"""A task's evidence files: declare one, send its bytes to the signed URLs, complete, read, remove."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from api.deps import EvidenceDep, MemberDep, OwnerOrAdminDep, SessionDep, StateDep
from api.errors import documented
from api.schemas import AttachmentCreate, AttachmentPublic, AttachmentUpload
from microcred.identity import Role
from microcred.services import evidence as files

router = APIRouter(prefix="/enrolments/{enrolment_id}/tasks/{task_id}/attachments", tags=["evidence"])


@router.post(
    "",
    response_model=AttachmentUpload,
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 403, 404, 409, 413, 422),
)
def create_attachment(
    enrolment_id: str,
    task_id: str,
    body: AttachmentCreate,
    session: SessionDep,
    evidence: EvidenceDep,
    member: MemberDep,
) -> AttachmentUpload:
    """Declare a file for the task: answers where to send its bytes, straight to the store (one
    request, or parts for a large file), until `expires_at`; then call `.../complete`.

    422 `evidence_not_accepted` (the task takes text only), `evidence_type_refused` (a type the
    task does not take), `evidence_too_many` (its `max_files`); 413 `evidence_too_large` (its
    `max_bytes`), `evidence_quota_exceeded` (the enrolment's quota); 409 `not_editable`, as a save.
    """
    with session.begin():
        plan = files.start_upload(
            session,
            evidence=evidence,
            enrolment_id=enrolment_id,
            member_id=member.sub,
            task_id=task_id,
            filename=body.filename,
            content_type=body.content_type,
            size=body.size,
            sha256=body.sha256,
            now=datetime.now(UTC),
        )
    return AttachmentUpload.model_validate(plan)


@router.get(
    "/{attachment_id}/upload", response_model=AttachmentUpload, responses=documented(401, 403, 404, 409)
)
def resume_upload(
    enrolment_id: str,
    task_id: str,
    attachment_id: str,
    session: SessionDep,
    evidence: EvidenceDep,
    member: MemberDep,
) -> AttachmentUpload:
    """Resume an upload: the parts that arrived, fresh signed requests for the rest (or for the
    whole file). 409 `invalid_state` once it is complete, or when it is too old to resume (its
    URLs never outlive the sweep of stale uploads): upload the file again."""
    plan = files.resume_upload(
        session,
        evidence=evidence,
        enrolment_id=enrolment_id,
        member_id=member.sub,
        task_id=task_id,
        attachment_id=attachment_id,
        now=datetime.now(UTC),
    )
    return AttachmentUpload.model_validate(plan)


@router.post(
    "/{attachment_id}/complete",
    response_model=AttachmentPublic,
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def complete_attachment(
    enrolment_id: str,
    task_id: str,
    attachment_id: str,
    state: StateDep,
    evidence: EvidenceDep,
    member: MemberDep,
) -> AttachmentPublic:
    """Verify the stored file and keep it: its size and SHA-256 must be those declared and its
    content (magic bytes) of the declared type, one the task takes.

    422 `evidence_mismatch` or `evidence_type_refused` (the stored bytes are deleted: upload
    again), `upload_incomplete` (with `missing_parts`); 409 `not_editable` once submitted.
    """
    found = await asyncio.to_thread(
        files.complete_upload,
        state.sessions,
        evidence=evidence,
        enrolment_id=enrolment_id,
        member_id=member.sub,
        task_id=task_id,
        attachment_id=attachment_id,
        now=datetime.now(UTC),
    )
    return AttachmentPublic.model_validate(found)


@router.get("/{attachment_id}", response_model=AttachmentPublic, responses=documented(401, 403, 404))
def get_attachment(
    enrolment_id: str,
    task_id: str,
    attachment_id: str,
    session: SessionDep,
    evidence: EvidenceDep,
    caller: OwnerOrAdminDep,
) -> AttachmentPublic:
    """One file of the task, with a short-lived download URL once verified (its member, admins)."""
    found = files.get(
        session,
        evidence=evidence,
        enrolment_id=enrolment_id,
        member_id=caller.sub if caller.role is Role.MEMBER else None,
        task_id=task_id,
        attachment_id=attachment_id,
    )
    return AttachmentPublic.model_validate(found)


@router.delete(
    "/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 403, 404, 409),
)
async def delete_attachment(
    enrolment_id: str,
    task_id: str,
    attachment_id: str,
    state: StateDep,
    evidence: EvidenceDep,
    member: MemberDep,
) -> None:
    """Take a file off the task while it is editable (409 `not_editable` otherwise). A file an
    earlier submission holds stays stored for it."""
    await asyncio.to_thread(
        files.remove,
        state.sessions,
        evidence=evidence,
        enrolment_id=enrolment_id,
        member_id=member.sub,
        task_id=task_id,
        attachment_id=attachment_id,
        now=datetime.now(UTC),
    )
