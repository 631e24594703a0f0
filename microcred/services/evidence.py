"""Evidence files: a member attaches files to a task; the submission freezes them by hash.

An attachment begins ``pending`` with what the member declared (name, type, size, SHA-256) and
the signed requests that carry its bytes straight to the object store; ``complete`` reads the
stored object once and keeps it only when its size, hash and type (by its content's magic
bytes) are what was declared and what the task accepts. The same editing rule as a save
decides when files may be added or removed (``work.edit_refusal``). No byte ever passes
through the database or a workflow: they see ids and hashes.

A signed upload URL keeps working until it expires, whatever became of its attachment, and
on S3 it is not ours to revoke. So an attachment refused or removed before any submission held
it keeps its row (``removed_at``) while its object goes: the sweep takes the row only after
``stale_after``, deleting once more whatever a still-valid URL sent meanwhile; and no upload URL
is signed to outlive that (``_upload_ttl``). Without the row, bytes sent after a refusal would
stay stored, counted by no quota and found by no sweep.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import puremagic
import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred.config import Settings
from microcred.db import SessionFactory, lock_enrolment, transaction
from microcred.documents import EvidenceDoc
from microcred.errors import (
    EvidenceMismatch,
    EvidenceNotAccepted,
    EvidenceQuotaExceeded,
    EvidenceTooLarge,
    EvidenceTooMany,
    EvidenceTypeRefused,
    InvalidState,
    NotEditable,
    NotFound,
    UploadIncomplete,
)
from microcred.models import Attachment, AttachmentStatus, Enrolment, Task
from microcred.services import work
from microcred.storage import ObjectExists, ObjectStore, StoredPart, attachment_key, store_from_settings

# Stale uploads removed per database round trip by the sweep.
SWEEP_BATCH = 200


@dataclass(frozen=True)
class Evidence:
    """The store and the limits: built once from Settings, shared by the API and the worker."""

    store: ObjectStore
    quota_bytes: int
    part_bytes: int
    upload_ttl: timedelta
    download_ttl: timedelta
    stale_after: timedelta

    @classmethod
    def from_settings(cls, settings: Settings, store: ObjectStore | None = None) -> Evidence:
        return cls(
            store=store or store_from_settings(settings),
            quota_bytes=settings.evidence_quota_bytes,
            part_bytes=settings.evidence_part_bytes,
            upload_ttl=settings.evidence_upload_ttl,
            download_ttl=settings.evidence_download_ttl,
            stale_after=settings.evidence_stale_after,
        )


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _editable_task(session: Session, enrolment: Enrolment, task_id: str, *, now: datetime) -> EvidenceDoc:
    task = session.get(Task, (enrolment.credential_id, task_id))
    if task is None:
        raise NotFound("no such task in this credential", task_id=task_id)
    refused = work.edit_refusal(enrolment, task.section_id, now=now)
    if refused is not None:
        raise NotEditable(refused, task_id=task_id, status=enrolment.status, section_id=task.section_id)
    if task.evidence is None:
        raise EvidenceNotAccepted("this task takes text only, no files", task_id=task_id)
    return EvidenceDoc.model_validate(task.evidence)


def _owned(session: Session, *, enrolment_id: str, member_id: str, lock: bool) -> Enrolment:
    enrolment = lock_enrolment(session, enrolment_id) if lock else session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.member_id != member_id:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return enrolment


def _attachment(session: Session, *, enrolment_id: str, task_id: str, attachment_id: str) -> Attachment:
    found = session.get(Attachment, attachment_id)
    if (
        found is None
        or found.enrolment_id != enrolment_id
        or found.task_id != task_id
        or found.removed_at is not None
    ):
        raise NotFound("no such attachment", attachment_id=attachment_id)
    return found


def _check_limits(
    session: Session, evidence: Evidence, rules: EvidenceDoc, *, enrolment_id: str, task_id: str, size: int
) -> None:
    if size > rules.max_bytes:
        raise EvidenceTooLarge(
            f"this task takes files of at most {_mib(rules.max_bytes)} ({rules.max_bytes} bytes)",
            limit=rules.max_bytes,
        )
    held = col(Attachment.removed_at).is_(None)
    count = session.exec(
        select(sa.func.count())
        .select_from(Attachment)
        .where(Attachment.enrolment_id == enrolment_id, Attachment.task_id == task_id, held)
    ).one()
    if count >= rules.max_files:
        raise EvidenceTooMany(
            f"this task takes at most {rules.max_files} files: remove one first", limit=rules.max_files
        )
    used = session.exec(
        select(sa.func.coalesce(sa.func.sum(Attachment.size), 0)).where(
            Attachment.enrolment_id == enrolment_id, held
        )
    ).one()
    if used + size > evidence.quota_bytes:
        raise EvidenceQuotaExceeded(
            f"the files of one enrolment take at most {_mib(evidence.quota_bytes)} "
            f"({evidence.quota_bytes} bytes); {_mib(int(used))} are used",
            limit=evidence.quota_bytes,
            used=int(used),
        )


def start_upload(
    session: Session,
    *,
    evidence: Evidence,
    enrolment_id: str,
    member_id: str,
    task_id: str,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    now: datetime,
) -> dict[str, Any]:
    """Declare a file for a task; answers where to send its bytes (in parts when it is large)."""
    enrolment = _owned(session, enrolment_id=enrolment_id, member_id=member_id, lock=True)
    rules = _editable_task(session, enrolment, task_id, now=now)
    content_type = content_type.strip().lower()
    if not rules.accepts(content_type):
        raise EvidenceTypeRefused(
            f"this task takes {', '.join(rules.accept)}, not {content_type}", accept=rules.accept
        )
    _check_limits(session, evidence, rules, enrolment_id=enrolment_id, task_id=task_id, size=size)
    attachment = Attachment(
        id=str(uuid.uuid4()),
        enrolment_id=enrolment_id,
        task_id=task_id,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha256.lower(),
        status=AttachmentStatus.PENDING,
        created_at=now,
    )
    if size > evidence.part_bytes:
        key = attachment_key(enrolment_id, attachment.id)
        attachment.upload_id = evidence.store.start_multipart(key, content_type=content_type)
        attachment.part_size = evidence.part_bytes
    session.add(attachment)
    session.flush()
    return _plan(evidence, attachment, now=now)


def _part_sizes(attachment: Attachment) -> list[int]:
    assert attachment.part_size is not None
    count = math.ceil(attachment.size / attachment.part_size)
    return [min(attachment.part_size, attachment.size - i * attachment.part_size) for i in range(count)]


def _upload_ttl(evidence: Evidence, attachment: Attachment, *, now: datetime) -> int:
    """Seconds the upload URLs signed now may work: never past the moment the sweep may take
    the attachment's row (which deletes the object), so no URL can store bytes after it."""
    until = min(now + evidence.upload_ttl, attachment.created_at + evidence.stale_after)
    seconds = int((until - now).total_seconds())
    if seconds <= 0:
        raise InvalidState(
            "this upload is too old to resume: remove it and upload the file again",
            attachment_id=attachment.id,
        )
    return seconds


def _plan(evidence: Evidence, attachment: Attachment, *, now: datetime) -> dict[str, Any]:
    """Fresh signed requests for what has not arrived yet."""
    store, key = evidence.store, attachment_key(attachment.enrolment_id, attachment.id)
    ttl = _upload_ttl(evidence, attachment, now=now)
    plan: dict[str, Any] = {"id": attachment.id, "expires_at": now + timedelta(seconds=ttl)}
    if attachment.upload_id is None:
        signed = store.upload_request(
            key, size=attachment.size, content_type=attachment.content_type, expires_in=ttl
        )
        plan |= {"upload": vars(signed), "multipart": None}
        return plan
    received = {p.number: p for p in store.uploaded_parts(key, upload_id=attachment.upload_id)}
    sizes = _part_sizes(attachment)
    offsets = [i * (attachment.part_size or 0) for i in range(len(sizes))]
    to_send = []
    for number, (offset, size) in enumerate(zip(offsets, sizes, strict=True), start=1):
        if number in received and received[number].size == size:
            continue
        signed = store.part_request(
            key, upload_id=attachment.upload_id, number=number, size=size, expires_in=ttl
        )
        to_send.append({"number": number, "offset": offset, "size": size, **vars(signed)})
    plan |= {
        "upload": None,
        "multipart": {
            "part_size": attachment.part_size,
            "part_count": len(sizes),
            "parts": to_send,
            "received": [{"number": p.number, "size": p.size} for p in received.values()],
        },
    }
    return plan


def resume_upload(
    session: Session,
    *,
    evidence: Evidence,
    enrolment_id: str,
    member_id: str,
    task_id: str,
    attachment_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Which parts arrived, and fresh signed requests for the rest (or the whole file again)."""
    _owned(session, enrolment_id=enrolment_id, member_id=member_id, lock=False)
    attachment = _attachment(session, enrolment_id=enrolment_id, task_id=task_id, attachment_id=attachment_id)
    if attachment.status != AttachmentStatus.PENDING:
        raise InvalidState("this file is uploaded and verified already", attachment_id=attachment_id)
    return _plan(evidence, attachment, now=now)


def _content_types(head: bytes) -> set[str]:
    """The media types the content's magic bytes say it may be (none when unrecognised)."""
    try:
        return {m.mime_type.lower() for m in puremagic.magic_string(head) if m.mime_type}
    except (puremagic.PureError, ValueError):
        return set()


def _discard(
    sessions: SessionFactory, evidence: Evidence, attachment_id: str, key: str, *, now: datetime
) -> None:
    """Remove a refused upload: its object now, its row (kept as removed) by the sweep."""
    with transaction(sessions) as session:
        session.execute(
            sa.update(Attachment)
            .where(col(Attachment.id) == attachment_id, col(Attachment.status) == AttachmentStatus.PENDING)
            .values(removed_at=now)
        )
    evidence.store.delete(key)


def complete_upload(
    sessions: SessionFactory,
    *,
    evidence: Evidence,
    enrolment_id: str,
    member_id: str,
    task_id: str,
    attachment_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Verify the stored bytes and keep the file, or refuse it (and delete the object).

    The object is read outside any transaction (a large file takes seconds); the attachment is
    then marked complete under the enrolment's lock, where a submission made meanwhile wins.
    """
    with sessions() as session:
        enrolment = _owned(session, enrolment_id=enrolment_id, member_id=member_id, lock=False)
        attachment = _attachment(
            session, enrolment_id=enrolment_id, task_id=task_id, attachment_id=attachment_id
        )
        if attachment.status == AttachmentStatus.COMPLETE:
            return public(evidence, attachment)  # a retried completion
        rules = _editable_task(session, enrolment, task_id, now=now)
    key = attachment_key(enrolment_id, attachment_id)
    store = evidence.store
    if attachment.upload_id is not None:
        sizes = _part_sizes(attachment)
        arrived = {p.number: p for p in store.uploaded_parts(key, upload_id=attachment.upload_id)}
        missing = [n for n, size in enumerate(sizes, start=1) if n not in arrived or arrived[n].size != size]
        stored = store.read(key)
        if stored is None and missing:
            raise UploadIncomplete(
                f"{len(missing)} of {len(sizes)} parts have not arrived", missing_parts=missing
            )
        if stored is None:
            parts = [StoredPart(n, arrived[n].size, arrived[n].etag) for n in range(1, len(sizes) + 1)]
            with contextlib.suppress(ObjectExists):  # a concurrent completion finished it
                store.finish_multipart(key, upload_id=attachment.upload_id, parts=parts)
            stored = store.read(key)
    else:
        stored = store.read(key)
    if stored is None:
        raise UploadIncomplete("the file has not arrived yet: send it, then complete")
    if stored.size != attachment.size or stored.sha256 != attachment.sha256:
        _discard(sessions, evidence, attachment_id, key, now=now)
        raise EvidenceMismatch(
            f"the stored file is not the one declared: {stored.size} bytes with SHA-256 {stored.sha256}, "
            f"declared {attachment.size} bytes with SHA-256 {attachment.sha256}; upload it again",
            size=stored.size,
            sha256=stored.sha256,
        )
    found = _content_types(stored.head)
    if attachment.content_type not in found or not rules.accepts(attachment.content_type):
        _discard(sessions, evidence, attachment_id, key, now=now)
        said = ", ".join(sorted(found)) if found else "of no type recognised"
        raise EvidenceTypeRefused(
            f"the file's content is {said}, not the declared {attachment.content_type} "
            f"(this task takes {', '.join(rules.accept)})",
            detected=sorted(found),
            accept=rules.accept,
        )
    with transaction(sessions) as session:
        enrolment = lock_enrolment(session, enrolment_id)
        _editable_task(session, enrolment, task_id, now=now)  # a submission made meanwhile wins
        attachment = _attachment(
            session, enrolment_id=enrolment_id, task_id=task_id, attachment_id=attachment_id
        )
        attachment.status, attachment.uploaded_at, attachment.upload_id = AttachmentStatus.COMPLETE, now, None
        return public(evidence, attachment)


def public(evidence: Evidence, attachment: Attachment) -> dict[str, Any]:
    """An attachment as the API shows it: a download URL once it is verified."""
    url = None
    if attachment.status == AttachmentStatus.COMPLETE:
        url = download_url(evidence, attachment.enrolment_id, frozen(attachment))
    return {
        **frozen(attachment),
        "status": attachment.status,
        "uploaded_at": attachment.uploaded_at,
        "download_url": url,
    }


def frozen(attachment: Attachment) -> dict[str, Any]:
    """What a submission keeps of an attachment: ids and the hash, never bytes."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def download_url(evidence: Evidence, enrolment_id: str, item: dict[str, Any]) -> str:
    return evidence.store.download_url(
        attachment_key(enrolment_id, item["id"]),
        filename=item["filename"],
        content_type=item["content_type"],
        expires_in=int(evidence.download_ttl.total_seconds()),
    )


def with_links(evidence: Evidence, enrolment_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Frozen attachments with short-lived download URLs."""
    return [{**item, "download_url": download_url(evidence, enrolment_id, item)} for item in items]


def get(
    session: Session,
    *,
    evidence: Evidence,
    enrolment_id: str,
    member_id: str | None,
    task_id: str,
    attachment_id: str,
) -> dict[str, Any]:
    """One attachment of a task: its member's (``member_id``), or anyone's for an admin (None)."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or (member_id is not None and enrolment.member_id != member_id):
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return public(
        evidence,
        _attachment(session, enrolment_id=enrolment_id, task_id=task_id, attachment_id=attachment_id),
    )


def remove(
    sessions: SessionFactory,
    *,
    evidence: Evidence,
    enrolment_id: str,
    member_id: str,
    task_id: str,
    attachment_id: str,
    now: datetime,
) -> None:
    """Take a file off a task while it is editable. One a submission holds stays stored (the
    submission refers to it), hidden from the task; any other loses its object now and its
    row to the sweep."""
    with transaction(sessions) as session:
        enrolment = _owned(session, enrolment_id=enrolment_id, member_id=member_id, lock=True)
        attachment = _attachment(
            session, enrolment_id=enrolment_id, task_id=task_id, attachment_id=attachment_id
        )
        task = session.get(Task, (enrolment.credential_id, task_id))
        assert task is not None
        refused = work.edit_refusal(enrolment, task.section_id, now=now)
        if refused is not None:
            raise NotEditable(refused, task_id=task_id, status=enrolment.status, section_id=task.section_id)
        attachment.removed_at = now
        if attachment.submitted_in is not None:
            return
        upload_id = attachment.upload_id
    key = attachment_key(enrolment_id, attachment_id)
    if upload_id is not None:
        evidence.store.abort_multipart(key, upload_id=upload_id)
    evidence.store.delete(key)


def _sweepable(cutoff: datetime) -> Any:
    """Older than the cutoff (every URL signed for it expired) and held by no submission:
    never completed, or refused or removed."""
    return sa.and_(
        col(Attachment.created_at) < cutoff,
        col(Attachment.submitted_in).is_(None),
        sa.or_(col(Attachment.status) == AttachmentStatus.PENDING, col(Attachment.removed_at).is_not(None)),
    )


def sweep_stale(sessions: SessionFactory, *, evidence: Evidence, now: datetime) -> int:
    """Remove uploads never completed within ``stale_after``, and refused or removed files no
    submission holds: their rows, then their objects and unfinished parts. A completion racing
    the sweep finds its row gone (404)."""
    removed = 0
    cutoff = now - evidence.stale_after
    while True:
        with sessions() as session:
            stale = session.exec(
                select(Attachment.id, Attachment.enrolment_id, Attachment.upload_id)
                .where(_sweepable(cutoff))
                .limit(SWEEP_BATCH)
            ).all()
        if not stale:
            return removed
        for attachment_id, enrolment_id, upload_id in stale:
            with transaction(sessions) as session:
                gone = session.execute(
                    sa.delete(Attachment).where(col(Attachment.id) == attachment_id, _sweepable(cutoff))
                )
            if gone.rowcount == 0:  # type: ignore[attr-defined]
                continue  # completed meanwhile: kept
            key = attachment_key(enrolment_id, attachment_id)
            if upload_id is not None:
                evidence.store.abort_multipart(key, upload_id=upload_id)
            evidence.store.delete(key)
            removed += 1
