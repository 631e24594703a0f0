"""Enrolments: buying a credential, and reading one enrolment for its member."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from microcred.contracts import CheckoutInfo, EventKind, Status, SubmitRequest, SubmitResult
from microcred.db import SessionFactory, reading, transaction, upsert
from microcred.documents import CredentialDoc
from microcred.errors import AlreadyEarned, AlreadyEnrolled, NotFound, Unavailable
from microcred.identity import Principal
from microcred.lifecycle import TERMINAL
from microcred.models import Enrolment, Member
from microcred.services import catalog, readmodel, work
from microcred.temporal.client import RunEnded, WorkflowClient


class EnrolmentCreated(BaseModel):
    id: str
    status: Status
    checkout_url: str | None
    checkout_session_id: str | None


def ensure_member(session: Session, principal: Principal) -> Member:
    """The member row of a token's subject, kept up to date with its email and name.

    One statement, an upsert: a new member's simultaneous first requests each insert it, and an
    email or name the token leaves empty keeps the stored one.
    """
    inserted = upsert(session, Member).values(
        id=principal.sub, email=principal.email, name=principal.name, created_at=datetime.now(UTC)
    )
    kept = Member.__table__.c  # type: ignore[attr-defined]
    statement = inserted.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "email": sa.func.coalesce(sa.func.nullif(inserted.excluded.email, ""), kept.email),
            "name": sa.func.coalesce(sa.func.nullif(inserted.excluded.name, ""), kept.name),
        },
    ).returning(Member)
    member: Member = session.scalars(statement, execution_options={"populate_existing": True}).one()
    return member


def owned(session: Session, *, enrolment_id: str, member_id: str) -> Enrolment:
    """The member's own enrolment; someone else's is indistinguishable from a missing one."""
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.member_id != member_id:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    return enrolment


def _check_exists(sessions: SessionFactory, enrolment_id: str, member_id: str | None) -> None:
    with reading(sessions) as session:
        if member_id is not None:
            owned(session, enrolment_id=enrolment_id, member_id=member_id)
        elif session.get(Enrolment, enrolment_id) is None:
            raise NotFound("no such enrolment", enrolment_id=enrolment_id)


async def require(*, sessions: SessionFactory, enrolment_id: str, member_id: str | None = None) -> None:
    """NotFound unless the enrolment exists (and is the member's, when one is named).

    Checked before every workflow message: ``Lifecycle`` reads a missing workflow run as a
    finished one, which is only right for an enrolment the database knows.
    """
    await asyncio.to_thread(_check_exists, sessions, enrolment_id, member_id)


def _reserve(sessions: SessionFactory, principal: Principal, credential_id: str) -> tuple[str, CredentialDoc]:
    with transaction(sessions) as session:
        doc = catalog.purchasable(session, credential_id=credential_id)
        ensure_member(session, principal)
        mine = session.exec(
            select(Enrolment).where(
                Enrolment.member_id == principal.sub, Enrolment.credential_id == credential_id
            )
        ).all()
        if any(e.status == Status.APPROVED for e in mine):
            raise AlreadyEarned("you have already earned this credential", credential_id=credential_id)
        for e in mine:
            if e.status in TERMINAL:
                continue
            if e.seq == 0:
                # Its workflow has never written: it did not start (the start failed and it could
                # not be told whether the server took it) or it has not opened the checkout yet.
                # This purchase is that one: enrol starts or joins its workflow and answers its
                # checkout, so a retry heals a reservation a failed start had to keep.
                return e.id, doc
            raise AlreadyEnrolled("you are already enrolled", enrolment_id=e.id, status=e.status)
        enrolment_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        session.add(
            Enrolment(
                id=enrolment_id,
                member_id=principal.sub,
                credential_id=credential_id,
                status=Status.AWAITING_PAYMENT.value,
                created_at=now,
                updated_at=now,
            )
        )
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent purchase won the unique index
            raise AlreadyEnrolled("you are already enrolled", credential_id=credential_id) from exc
        readmodel.add_event(
            session,
            enrolment_id=enrolment_id,
            key="enrolled",
            kind=EventKind.ENROLLED.value,
            at=now,
            actor=principal.sub,
        )
        return enrolment_id, doc


def _release(sessions: SessionFactory, enrolment_id: str) -> None:
    """Undo a reservation whose workflow does not exist (unless the workflow wrote since)."""
    with transaction(sessions) as session:
        enrolment = session.get(Enrolment, enrolment_id)
        if enrolment is not None and enrolment.seq == 0:
            enrolment.status = Status.CANCELLED.value


async def _release_unless_started(
    sessions: SessionFactory, workflows: WorkflowClient, enrolment_id: str
) -> None:
    """After a failed start: release the reservation only when its workflow certainly does not exist.

    A start that timed out or lost its connection may have been accepted by the server; that
    workflow would write the row back beside the member's next purchase. Such a reservation is
    kept, and the member's retry joins it (see ``_reserve``).
    """
    if not await workflows.workflow_may_exist(enrolment_id):
        await asyncio.to_thread(_release, sessions, enrolment_id)


async def enrol(
    *, sessions: SessionFactory, workflows: WorkflowClient, principal: Principal, credential_id: str
) -> EnrolmentCreated:
    """Buy a credential: reserve the enrolment, start (or join) its workflow, return its checkout."""
    enrolment_id, doc = await asyncio.to_thread(_reserve, sessions, principal, credential_id)
    try:
        await workflows.begin(
            enrolment_id=enrolment_id,
            member_id=principal.sub,
            credential=catalog.outline(doc),
            summary=f"{doc.title} · {principal.email or principal.sub}",
        )
    except RunEnded:
        # A reservation kept after a failed start whose workflow then closed without ever writing
        # (an operator terminated it, say): it is dead. Released, and this purchase starts anew.
        await asyncio.to_thread(_release, sessions, enrolment_id)
        return await enrol(
            sessions=sessions, workflows=workflows, principal=principal, credential_id=credential_id
        )
    except BaseException:
        # Also on cancellation (a client gone): a reservation without a workflow must not block a
        # new purchase. Shielded, so a repeated cancellation cannot cut the check short.
        await asyncio.shield(_release_unless_started(sessions, workflows, enrolment_id))
        raise
    # From here the workflow owns the enrolment: if its checkout is slow to answer, the purchase
    # stays open, never released under a running workflow. A retry joins it (201, this id) until
    # the workflow has written; after that it is told already_enrolled, with this id.
    info: CheckoutInfo = await workflows.checkout(enrolment_id)
    if info.checkout_url is None:
        raise Unavailable(
            "payments are unavailable right now; an admin has been told", status=info.status.value
        )
    return EnrolmentCreated(
        id=enrolment_id,
        status=info.status,
        checkout_url=info.checkout_url,
        checkout_session_id=info.checkout_session_id,
    )


def _answered(sessions: SessionFactory, enrolment_id: str, member_id: str) -> list[str]:
    with reading(sessions) as session:
        owned(session, enrolment_id=enrolment_id, member_id=member_id)
        return work.answered_task_ids(session, enrolment_id=enrolment_id)


async def submit(
    *,
    sessions: SessionFactory,
    workflows: WorkflowClient,
    member_id: str,
    enrolment_id: str,
    agree_terms: bool,
) -> SubmitResult:
    """Submit for review: the workflow validates and freezes the snapshot before it answers."""
    answered = await asyncio.to_thread(_answered, sessions, enrolment_id, member_id)
    return await workflows.submit(
        enrolment_id, SubmitRequest(agree_terms=agree_terms, answered_task_ids=answered)
    )


def _started_resubmission(sessions: SessionFactory, enrolment_id: str) -> CheckoutInfo | None:
    with reading(sessions) as session:
        row = session.get(Enrolment, enrolment_id)
    if row is None or row.status != Status.AWAITING_RESUBMISSION_PAYMENT or row.checkout_url is None:
        return None
    return CheckoutInfo(
        status=Status.AWAITING_RESUBMISSION_PAYMENT,
        checkout_url=row.checkout_url,
        checkout_session_id=row.checkout_session_id,
    )


async def start_resubmission(
    *, sessions: SessionFactory, workflows: WorkflowClient, member_id: str, enrolment_id: str
) -> CheckoutInfo:
    await require(sessions=sessions, enrolment_id=enrolment_id, member_id=member_id)
    started = await asyncio.to_thread(_started_resubmission, sessions, enrolment_id)
    # A second click answers from the read model: the workflow's limit on updates is not spent
    # on it (the workflow would answer the same; it keeps the checkout current in the row).
    info = started or await workflows.start_resubmission(enrolment_id)
    if info.checkout_url is None:
        raise Unavailable(
            "payments are unavailable right now; an admin has been told", status=info.status.value
        )
    return info
