"""The admins' desk over enrolments: search them, and read one whole (its work, payments,
notifications and the way to its workflow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session, col, select

from microcred import pagination
from microcred.contracts import Status
from microcred.models import Credential, Enrolment, Member, Notification, Payment
from microcred.services import learning, people
from microcred.services.evidence import Evidence
from microcred.temporal.names import enrolment_workflow_id

# Newest first, as My Learning (its index: ix_enrolment_created, or the filter's own).
SEARCH_ORDER = learning.LEARNING_ORDER


def _search_query() -> Any:
    """Enrolments with their member and credential: one query per page."""
    return (
        select(
            Enrolment,
            col(Credential.title),
            people.member_name(col(Enrolment.member_id)),
            col(Member.email),
        )
        .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .join(Member, col(Member.id) == col(Enrolment.member_id))
    )


def _item(enrolment: Enrolment, title: str, member_name: str, member_email: str | None) -> dict[str, Any]:
    return {
        "enrolment_id": enrolment.id,
        "member_id": enrolment.member_id,
        "member_name": member_name,
        "member_email": member_email,
        "credential_id": enrolment.credential_id,
        "title": title,
        "status": enrolment.status,
        "attempt": enrolment.attempt,
        "purchased_at": enrolment.purchased_at,
        "due_at": enrolment.due_at,
        "submitted_at": enrolment.submitted_at,
        "review_due_at": enrolment.review_due_at,
        "evaluator_id": enrolment.evaluator_id,
        "review_overdue": enrolment.review_overdue,
        "created_at": enrolment.created_at,
    }


def search(
    session: Session,
    *,
    member: str | None,
    credential_id: str | None,
    status: Status | None,
    enrolment_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the enrolments that match every filter given, newest first.

    ``member`` is a member's exact id, or a part of their name or email in any case.
    """
    query = _search_query()
    if member:
        query = query.where(
            sa.or_(
                col(Enrolment.member_id) == member,
                col(Member.name).icontains(member, autoescape=True),
                col(Member.email).icontains(member, autoescape=True),
            )
        )
    if credential_id:
        query = query.where(col(Enrolment.credential_id) == credential_id)
    if status is not None:
        query = query.where(col(Enrolment.status) == status.value)
    if enrolment_id:
        query = query.where(col(Enrolment.id) == enrolment_id)
    rows = session.exec(pagination.paginate(query, SEARCH_ORDER, cursor=cursor, limit=limit)).all()
    items, next_cursor = pagination.page(rows, limit=limit, key_of=lambda r: (r[0].created_at, r[0].id))
    return [_item(*row) for row in items], next_cursor


def workflow_url(*, temporal_ui_url: str | None, namespace: str, enrolment_id: str) -> str | None:
    """The enrolment's workflow in the Temporal Web UI, when the UI's address is configured."""
    if not temporal_ui_url:
        return None
    workflow_id = quote(enrolment_workflow_id(enrolment_id), safe="")
    return f"{temporal_ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{workflow_id}"


def enrolment(
    session: Session,
    *,
    enrolment_id: str,
    api_base_url: str,
    temporal_ui_url: str | None,
    namespace: str,
    now: datetime,
    evidence: Evidence,
) -> dict[str, Any]:
    """One enrolment as an admin reads it at ``now``: its search item, its work as the member sees
    it (files with download URLs), the latest marked rubric, payments, notifications and its
    workflow."""
    row, summary = learning.summary(
        session, enrolment_id=enrolment_id, member_id=None, api_base_url=api_base_url
    )
    member = session.get(Member, row.member_id)
    detail = _item(
        row,
        summary["title"],
        (member.name if member else None) or row.member_id,
        member.email if member else None,
    )
    payments = session.exec(
        select(Payment).where(Payment.enrolment_id == row.id).order_by(col(Payment.created_at))
    ).all()
    notifications = session.exec(
        select(Notification)
        .where(Notification.enrolment_id == row.id)
        .order_by(col(Notification.created_at), col(Notification.id))
    ).all()
    return {
        **detail,
        "checkout_url": row.checkout_url,
        "badge_url": summary["badge_url"],
        "decision": row.decision,
        "community": summary["community"],
        "sections": learning.sections(session, enrolment=row, now=now, evidence=evidence),
        "rubric": learning.latest_rubric(session, enrolment_id=row.id),
        "payments": [
            {
                "checkout_session_id": p.checkout_session_id,
                "kind": p.kind,
                "attempt": p.attempt,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "paid_at": p.paid_at,
                "refunded_amount": p.refunded_amount,
                "refunded_at": p.refunded_at,
            }
            for p in payments
        ],
        "notifications": [
            {
                "id": n.id,
                "kind": n.kind,
                "subject": n.subject,
                "recipient_id": n.recipient_id,
                "created_at": n.created_at,
                "mail_status": n.mail_status,
            }
            for n in notifications
        ],
        "workflow_id": enrolment_workflow_id(row.id),
        "temporal_ui_url": workflow_url(
            temporal_ui_url=temporal_ui_url, namespace=namespace, enrolment_id=row.id
        ),
    }
