"""What needs an admin now: overdue reviews, reviews nobody holds, and the operator alerts the
workflows sent to all admins (payments to settle by hand, say) until an admin resolves them.

Reviews leave the list by themselves: an overdue one once it is decided or handed to another
evaluator after it fell due (by the SLA or an admin: it stays flagged overdue, but someone new
holds it), an unassigned one once someone holds it. An alert leaves when an admin records its
resolution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from microcred import pagination
from microcred.contracts import Audience, EventKind, NotificationKind
from microcred.db import insert_ignoring_duplicates
from microcred.errors import NotFound
from microcred.lifecycle import Status
from microcred.models import AlertResolution, Credential, Enrolment, Notification, TimelineEntry
from microcred.pagination import Key
from microcred.services import people

REVIEW_OVERDUE = "review_overdue"
REVIEW_UNASSIGNED = "review_unassigned"
OPERATOR_ALERT = "operator_alert"


def _reviews() -> Any:
    """SQL: the reviews under review that are overdue and not handed over since, or held by
    nobody (an overdue one is listed once, as overdue), since they became so."""
    handed_over = sa.exists().where(
        col(TimelineEntry.enrolment_id) == col(Enrolment.id),
        col(TimelineEntry.kind).in_([EventKind.REVIEW_REASSIGNED.value, EventKind.REVIEW_CLAIMED.value]),
        col(TimelineEntry.at) >= col(Enrolment.review_due_at),
    )
    overdue = sa.and_(col(Enrolment.review_overdue).is_(True), ~handed_over)
    return (
        sa.select(
            sa.case((overdue, REVIEW_OVERDUE), else_=REVIEW_UNASSIGNED).label("kind"),
            col(Enrolment.id).label("enrolment_id"),
            col(Credential.title).label("title"),
            people.member_name(col(Enrolment.member_id)),
            sa.case((overdue, col(Enrolment.review_due_at)), else_=col(Enrolment.submitted_at)).label(
                "since"
            ),
            sa.cast(sa.null(), sa.String).label("notification_id"),
            col(Enrolment.id).label("key"),
            col(Enrolment.attempt).label("attempt"),
            col(Enrolment.evaluator_id).label("evaluator_id"),
            sa.cast(sa.null(), sa.Text).label("message"),
        )
        .join(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .where(
            col(Enrolment.status) == Status.UNDER_REVIEW,
            sa.or_(overdue, col(Enrolment.evaluator_id).is_(None)),
        )
    )


def _alerts() -> Any:
    """SQL: the operator alerts no admin has resolved yet, since they were sent."""
    resolved = sa.exists().where(col(AlertResolution.notification_id) == col(Notification.id))
    return (
        sa.select(
            sa.literal(OPERATOR_ALERT).label("kind"),
            col(Notification.enrolment_id).label("enrolment_id"),
            col(Credential.title).label("title"),
            people.member_name(col(Enrolment.member_id)),
            col(Notification.created_at).label("since"),
            col(Notification.id).label("notification_id"),
            col(Notification.id).label("key"),
            sa.cast(sa.null(), sa.Integer).label("attempt"),
            sa.cast(sa.null(), sa.String).label("evaluator_id"),
            col(Notification.body).label("message"),
        )
        .select_from(Notification)
        # Outer joins: an alert about no enrolment (or a gone one) is still an alert.
        .outerjoin(Enrolment, col(Enrolment.id) == col(Notification.enrolment_id))
        .outerjoin(Credential, col(Credential.id) == col(Enrolment.credential_id))
        .where(
            col(Notification.kind) == NotificationKind.OPERATOR_ALERT.value,
            col(Notification.audience) == Audience.ADMINS.value,
            ~resolved,
        )
    )


def _summary(row: Any) -> str:
    if row.kind == OPERATOR_ALERT:
        return str(row.message)
    if row.kind == REVIEW_OVERDUE:
        held = f"held by {row.evaluator_id}" if row.evaluator_id else "held by nobody"
        return f"The review of attempt {row.attempt} is past its due date, {held}: reassign it."
    return f"The review of attempt {row.attempt} waits for an evaluator: no one eligible is on duty."


def items(session: Session, *, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of what needs an admin, the longest waiting first, and the next page's cursor."""
    listed = sa.union_all(_reviews(), _alerts()).subquery("attention")
    order = (Key(listed.c.since, is_datetime=True), Key(listed.c.key))
    rows = session.execute(pagination.paginate(sa.select(listed), order, cursor=cursor, limit=limit)).all()
    page, next_cursor = pagination.page(rows, limit=limit, key_of=lambda r: (r.since, r.key))
    return [
        {
            "kind": row.kind,
            "enrolment_id": row.enrolment_id,
            "title": row.title,
            "member_name": row.member_name,
            "since": row.since,
            "summary": _summary(row),
            "notification_id": row.notification_id,
        }
        for row in page
    ], next_cursor


def resolve(session: Session, *, notification_id: str, actor: str, note: str, now: datetime) -> None:
    """Record that an admin dealt with an operator alert; the first resolution is kept."""
    alert = session.get(Notification, notification_id)
    if (
        alert is None
        or alert.kind != NotificationKind.OPERATOR_ALERT.value
        or alert.audience != Audience.ADMINS.value
    ):
        raise NotFound("no such operator alert", notification_id=notification_id)
    session.execute(
        insert_ignoring_duplicates(session, AlertResolution, ("notification_id",)).values(
            notification_id=notification_id, resolved_by=actor, resolved_at=now, note=note
        )
    )
