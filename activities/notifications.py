"""Notification activities: record every notification, and mail it when SMTP is configured.

Recording is what the lifecycle waits for (a fast database write). Mail is handed to its own
``MailDeliveryWorkflow`` (id ``mail-<notification id>``), which retries a failing mail server
for days without ever holding up an enrolment.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.failures import business_failure
from microcred import mail, notification_texts
from microcred.contracts import Audience, MailInput, NotifyInput, NotifyResult, ResendInput
from microcred.db import SessionFactory, insert_ignoring_duplicates, one_statement, transaction
from microcred.errors import NotFound
from microcred.models import Evaluator, Member, Notification
from microcred.temporal import names

ADMINS = "admins"
# What ``notify`` needs of a recorded notification (its mail delivery is started from these).
_NOTICE = tuple(
    col(c) for c in (Notification.id, Notification.kind, Notification.recipient_id, Notification.mail_status)
)
MESSAGE_ID_DOMAIN = "microcred.local"


def message_id(notification_id: str) -> str:
    """The Message-ID of every delivery of one notification."""
    return f"<{notification_id}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True)
class MailSettings:
    smtp: mail.SmtpConfig | None
    mail_from: str
    admin_emails: tuple[str, ...]
    task_queue: str


class NotificationActivities:
    def __init__(
        self, sessions: SessionFactory, client: Client | None, settings: MailSettings, *, api_base_url: str
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings
        self._api_base_url = api_base_url.rstrip("/")

    @property
    def _mail_enabled(self) -> bool:
        return self._settings.smtp is not None and self._client is not None

    @activity.defn(name="notifications.notify")
    async def notify(self, inp: NotifyInput) -> NotifyResult:
        """Record the notification once per key and recipient; start its mail delivery."""
        rows = await asyncio.to_thread(self._record, inp)
        await self._start_mail([r for r in rows if r.mail_status == "pending"])
        return NotifyResult(notification_ids=[r.id for r in rows])

    @activity.defn(name="notifications.resend")
    async def resend(self, inp: ResendInput) -> NotifyResult:
        """Record a fresh copy of a notification of this enrolment (and mail it)."""
        row = await asyncio.to_thread(self._copy, inp)
        if row.mail_status == "pending":
            await self._start_mail([row])
        return NotifyResult(notification_ids=[row.id])

    def _email(self, inp: NotifyInput) -> Any:
        """The recipient's address: the admins' from the settings, a person's read by the insert."""
        if inp.audience is Audience.ADMINS:
            return ", ".join(self._settings.admin_emails) or None
        person = Member if inp.audience is Audience.MEMBER else Evaluator
        return sa.select(col(person.email)).where(col(person.id) == inp.recipient_id).scalar_subquery()

    def _record(self, inp: NotifyInput) -> list[Notification]:
        recipient_id = ADMINS if inp.audience is Audience.ADMINS else inp.recipient_id
        assert recipient_id is not None, "member and evaluator notices name their recipient"
        context = {**inp.context, "enrolment_id": inp.enrolment_id}
        if "badge_id" in context:
            context["badge_url"] = f"{self._api_base_url}/badges/{context['badge_id']}"
        subject, body = notification_texts.render(inp.kind, context)
        email = self._email(inp)
        if not self._mail_enabled:
            mail_status: Any = "not_sent"
        elif isinstance(email, sa.ScalarSelect):
            mail_status = sa.case((sa.func.coalesce(email, "") != "", "pending"), else_="not_sent")
        else:
            mail_status = "pending" if email else "not_sent"
        # One statement, no read before it: the address is read by the insert itself, and a
        # retry's insert meets the first attempt's row (the key and recipient are unique).
        with one_statement(self._sessions) as session:
            inserted = session.execute(
                insert_ignoring_duplicates(session, Notification, ("key", "recipient_id"))
                .values(
                    id=str(uuid.uuid4()),
                    key=inp.key,
                    kind=inp.kind.value,
                    audience=inp.audience.value,
                    recipient_id=recipient_id,
                    recipient_email=email,
                    enrolment_id=inp.enrolment_id,
                    subject=subject,
                    body=body,
                    created_at=inp.at,
                    mail_status=mail_status,
                )
                .returning(*_NOTICE)
            ).first()
            if inserted is None:  # recorded before
                inserted = session.execute(
                    sa.select(*_NOTICE).where(
                        col(Notification.key) == inp.key, col(Notification.recipient_id) == recipient_id
                    )
                ).one()
        return [Notification(**inserted._mapping)]

    def _copy(self, inp: ResendInput) -> Notification:
        key = f"resend:{inp.notification_id}:{activity.info().workflow_run_id}:{activity.info().activity_id}"
        with transaction(self._sessions) as session:
            original = session.get(Notification, inp.notification_id)
            if original is None or original.enrolment_id != inp.enrolment_id:
                raise business_failure(
                    NotFound("no such notification for this enrolment", notification_id=inp.notification_id)
                )
            existing = session.exec(
                select(Notification).where(
                    Notification.key == key, Notification.recipient_id == original.recipient_id
                )
            ).first()
            if existing is not None:
                return existing
            copy = Notification(
                id=str(uuid.uuid4()),
                key=key,
                kind=original.kind,
                audience=original.audience,
                recipient_id=original.recipient_id,
                recipient_email=original.recipient_email,
                enrolment_id=original.enrolment_id,
                subject=original.subject,
                body=original.body,
                created_at=datetime.now(UTC),
                mail_status="pending" if self._mail_enabled and original.recipient_email else "not_sent",
            )
            session.add(copy)
            return copy

    async def _start_mail(self, rows: list[Notification]) -> None:
        if self._client is None:
            return
        for row in rows:
            # Already started: a retry of this activity, the delivery is under way or done.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self._client.start_workflow(
                    names.MAIL_WORKFLOW,
                    MailInput(notification_id=row.id),
                    id=names.mail_workflow_id(row.id),
                    task_queue=self._settings.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"mail {row.kind} to {row.recipient_id}",
                )


class MailActivities:
    """Deliver one recorded notification over SMTP."""

    def __init__(self, sessions: SessionFactory, settings: MailSettings) -> None:
        self._sessions = sessions
        self._settings = settings

    @activity.defn(name="mail.send")
    async def send(self, inp: MailInput) -> bool:
        """True when the mail server took the message now (the workflow then records it)."""
        note = await asyncio.to_thread(self._load, inp.notification_id)
        if note.mail_status == "sent" or not note.recipient_email or self._settings.smtp is None:
            return False
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = note.recipient_email
        message["Subject"] = note.subject
        # Stable per notification, so a resent duplicate is recognisable as the same message
        # (email.utils.make_msgid would add the time and a random number to every attempt).
        message["Message-ID"] = message_id(note.id)
        message.set_content(note.body)
        try:
            await mail.send(self._settings.smtp, message)
        except aiosmtplib.SMTPException as error:
            if mail.permanent(error):
                raise ApplicationError(
                    f"the mail server refused the message: {error}", type="MailRefused", non_retryable=True
                ) from error
            raise
        # Recorded by an activity of its own: a database down now must not send the mail again.
        return True

    @activity.defn(name="mail.sent")
    def sent(self, inp: MailInput) -> None:
        self._mark(inp.notification_id, "sent", None)

    @activity.defn(name="mail.give_up")
    def give_up(self, inp: MailInput) -> None:
        self._mark(inp.notification_id, "failed", inp.error)

    def _load(self, notification_id: str) -> Notification:
        with self._sessions() as session:
            note = session.get(Notification, notification_id)
            if note is None:
                raise business_failure(NotFound("no such notification", notification_id=notification_id))
            return note

    def _mark(self, notification_id: str, status: str, error: str | None) -> None:
        with transaction(self._sessions) as session:
            note = session.get(Notification, notification_id)
            if note is not None and note.mail_status != "sent":
                note.mail_status = status
                note.mailed_at = datetime.now(UTC) if status == "sent" else None
                note.mail_error = (error or "")[:500] or None
