"""The admins' desk: find enrolments, read one whole, and the list of what needs an admin now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, EvidenceDep, PageDep, SessionDep, StateDep
from api.errors import documented
from api.schemas import AdminEnrolmentDetail, AdminEnrolmentItem, AttentionItem, Page, Resolution
from microcred.contracts import Status
from microcred.services import attention as needs_attention
from microcred.services import desk

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/enrolments", response_model=Page[AdminEnrolmentItem], responses=documented(401, 403, 422))
def search_enrolments(
    session: SessionDep,
    _: AdminDep,
    page: PageDep,
    member: Annotated[
        str | None,
        Query(max_length=320, description="A member's exact id, or part of their name or email (any case)."),
    ] = None,
    credential_id: Annotated[str | None, Query(max_length=64, description="Exact.")] = None,
    status: Annotated[Status | None, Query()] = None,
    enrolment_id: Annotated[str | None, Query(max_length=36, description="Exact.")] = None,
) -> Page[AdminEnrolmentItem]:
    """Enrolments matching every filter given (an empty one is no filter), newest first."""
    items, next_cursor = desk.search(
        session,
        member=member,
        credential_id=credential_id,
        status=status,
        enrolment_id=enrolment_id,
        cursor=page.cursor,
        limit=page.limit,
    )
    return Page(items=[AdminEnrolmentItem.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get(
    "/enrolments/{enrolment_id}", response_model=AdminEnrolmentDetail, responses=documented(401, 403, 404)
)
def admin_enrolment(
    enrolment_id: str, session: SessionDep, state: StateDep, evidence: EvidenceDep, _: AdminDep
) -> AdminEnrolmentDetail:
    """One enrolment whole: its state, the member's latest work and marked rubric, its payments and
    notifications (to re-send), and its workflow (with a link into the Temporal Web UI)."""
    settings = state.settings
    detail = desk.enrolment(
        session,
        enrolment_id=enrolment_id,
        api_base_url=settings.api_base_url,
        temporal_ui_url=settings.temporal_ui_url,
        namespace=settings.temporal_namespace,
        now=datetime.now(UTC),
        evidence=evidence,
    )
    return AdminEnrolmentDetail.model_validate(detail)


@router.get("/attention", response_model=Page[AttentionItem], responses=documented(401, 403, 422))
def attention(session: SessionDep, _: AdminDep, page: PageDep) -> Page[AttentionItem]:
    """What needs an admin now, the longest waiting first: overdue reviews, reviews nobody holds,
    and unresolved operator alerts. Reviews leave it once reassigned, claimed or decided; an
    alert once resolved."""
    items, next_cursor = needs_attention.items(session, cursor=page.cursor, limit=page.limit)
    return Page(items=[AttentionItem.model_validate(i) for i in items], next_cursor=next_cursor)


@router.post(
    "/attention/{notification_id}/resolution",
    status_code=204,
    responses=documented(401, 403, 404, 422),
)
def resolve_alert(notification_id: str, body: Resolution, session: SessionDep, admin: AdminDep) -> None:
    """Mark an operator alert as dealt with, saying what was done; it leaves the attention list.
    Resolving it again keeps the first resolution."""
    with session.begin():
        needs_attention.resolve(
            session, notification_id=notification_id, actor=admin.sub, note=body.note, now=datetime.now(UTC)
        )
