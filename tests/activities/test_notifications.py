"""Notifications: recorded once per key and recipient, mailed over a real (local) SMTP server.

Recording is what an enrolment waits for; mail runs in its own MailDeliveryWorkflow, so a mail
server that is down delays mail and never an enrolment.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
import pytest
from sqlmodel import select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notifications import MailActivities, MailSettings, NotificationActivities, message_id
from microcred.contracts import (
    Audience,
    MailInput,
    NotificationKind,
    NotifyInput,
    NotifyResult,
    PaymentConfirmed,
)
from microcred.db import SessionFactory, transaction
from microcred.models import Notification
from microcred.services import enrolments
from microcred.temporal.names import MAIL_WORKFLOW, Activity
from tests.activities.builders import AT, add_member
from tests.activities.smtp import SmtpServer
from tests.support import API_BASE, member, publish, register_evaluator, running_worker, uid

ADMIN_EMAILS = ("ops@example.org", "dean@example.org")


def mail_settings(smtp: SmtpServer | None = None, task_queue: str = "unused") -> MailSettings:
    return MailSettings(
        smtp=smtp.config if smtp else None,
        mail_from="microcred@example.org",
        admin_emails=ADMIN_EMAILS,
        task_queue=task_queue,
    )


def notice(
    kind: NotificationKind = NotificationKind.SUBMISSION_RECEIVED,
    audience: Audience = Audience.MEMBER,
    recipient_id: str | None = None,
    /,
    **context: Any,
) -> NotifyInput:
    return NotifyInput(
        key=uid("key"),
        kind=kind,
        audience=audience,
        recipient_id=recipient_id,
        enrolment_id=uuid.uuid4().hex,
        at=AT,
        context={"credential_title": "Inquiry in practice", **context},
    )


@dataclass(frozen=True)
class Notifier:
    """Runs the notify activity as a worker would; returns the rows it recorded."""

    sessions: SessionFactory
    acts: NotificationActivities

    async def __call__(self, inp: NotifyInput) -> list[Notification]:
        result: NotifyResult = await ActivityEnvironment().run(self.acts.notify, inp)
        return [stored(self.sessions, i) for i in result.notification_ids]


def notifier(
    sessions: SessionFactory,
    settings: MailSettings | None = None,
    client: Client | None = None,
    api_base_url: str = API_BASE,
) -> Notifier:
    acts = NotificationActivities(sessions, client, settings or mail_settings(), api_base_url=api_base_url)
    return Notifier(sessions, acts)


def stored(sessions: SessionFactory, notification_id: str) -> Notification:
    with sessions() as session:
        note = session.get(Notification, notification_id)
        assert note is not None
        return note


def rows_for_key(sessions: SessionFactory, key: str) -> list[Notification]:
    with sessions() as session:
        return list(session.exec(select(Notification).where(Notification.key == key)).all())


# --- recording --------------------------------------------------------------------------------


async def test_notify_records_one_row_per_key_and_recipient(sessions: SessionFactory) -> None:
    notify = notifier(sessions)
    someone = add_member(sessions)
    inp = notice(
        NotificationKind.SUBMISSION_RECEIVED,
        Audience.MEMBER,
        someone,
        attempt=2,
        review_due_at="2026-03-16T09:00:00+00:00",
    )

    [first] = await notify(inp)
    [again] = await notify(inp)  # a retry

    assert again.id == first.id
    assert [r.id for r in rows_for_key(sessions, inp.key)] == [first.id]
    assert (first.recipient_id, first.recipient_email, first.audience, first.kind) == (
        someone,
        f"{someone}@example.org",
        "member",
        "submission_received",
    )
    assert (first.enrolment_id, first.created_at, first.mail_status) == (inp.enrolment_id, AT, "not_sent")
    assert first.subject == "Submitted: Inquiry in practice"
    assert "attempt 2 of Inquiry in practice" in first.body
    assert "16 March 2026, 09:00 UTC" in first.body

    # The same key for another recipient is another notification.
    evaluator = register_evaluator(sessions)
    [other] = await notify(inp.model_copy(update={"audience": Audience.EVALUATOR, "recipient_id": evaluator}))
    assert other.id != first.id
    assert {r.recipient_id for r in rows_for_key(sessions, inp.key)} == {someone, evaluator}


async def test_notify_resolves_each_audience(sessions: SessionFactory) -> None:
    notify = notifier(sessions)
    evaluator = register_evaluator(sessions)
    silent = add_member(sessions, email=None)

    [to_evaluator] = await notify(
        notice(
            NotificationKind.EVALUATOR_ASSIGNED,
            Audience.EVALUATOR,
            evaluator,
            attempt=1,
            review_due_at="2026-03-16T09:00:00+00:00",
        ),
    )
    [to_admins] = await notify(notice(NotificationKind.REVIEW_UNASSIGNED, Audience.ADMINS, attempt=1))
    [no_address] = await notify(notice(NotificationKind.SUBMISSION_RECEIVED, Audience.MEMBER, silent))
    [unknown] = await notify(notice(NotificationKind.SUBMISSION_RECEIVED, Audience.MEMBER, uid("gone")))

    assert (to_evaluator.recipient_id, to_evaluator.recipient_email) == (
        evaluator,
        f"{evaluator}@example.org",
    )
    assert to_evaluator.subject == "New review: Inquiry in practice"
    assert (to_admins.recipient_id, to_admins.recipient_email) == (
        "admins",
        "ops@example.org, dean@example.org",
    )
    assert to_admins.subject == "No evaluator for Inquiry in practice"
    assert to_admins.enrolment_id is not None and to_admins.enrolment_id in to_admins.body
    assert no_address.recipient_email is None and unknown.recipient_email is None


async def test_notify_renders_links_and_money(sessions: SessionFactory) -> None:
    notify = notifier(sessions, api_base_url=API_BASE + "/")
    someone = add_member(sessions)

    [badge] = await notify(notice(NotificationKind.BADGE_ISSUED, Audience.MEMBER, someone, badge_id="b-123"))
    [receipt] = await notify(
        notice(
            NotificationKind.PURCHASE_RECEIPT,
            Audience.MEMBER,
            someone,
            amount=9900,
            currency="usd",
            kind="purchase",
        ),
    )

    assert badge.subject == "Your badge for Inquiry in practice"
    assert f"{API_BASE}/badges/b-123" in badge.body
    assert receipt.subject == "Receipt: Inquiry in practice"
    assert "99.00 USD" in receipt.body


async def test_notify_without_a_mail_server_never_mails(sessions: SessionFactory, smtp: SmtpServer) -> None:
    # SMTP configured, but no Temporal client to start the delivery with: nothing is pending.
    notify = notifier(sessions, mail_settings(smtp))
    [note] = await notify(notice(NotificationKind.SUBMISSION_RECEIVED, Audience.MEMBER, add_member(sessions)))
    assert note.mail_status == "not_sent"


# --- delivery over SMTP -----------------------------------------------------------------------


def pending(sessions: SessionFactory, *, email: str | None = None) -> Notification:
    """A recorded notification waiting for its mail."""
    note = Notification(
        id=str(uuid.uuid4()),
        key=uid("key"),
        kind=NotificationKind.DECISION.value,
        audience="member",
        recipient_id=uid("member"),
        recipient_email=email or f"{uid('member')}@example.org",
        enrolment_id=uuid.uuid4().hex,
        subject="Decision on Inquiry in practice: approved",
        body="Your evaluator has decided.\nRead the marked rubric in My Learning.",
        created_at=AT,
        mail_status="pending",
    )
    with transaction(sessions) as session:
        session.add(note)
    return note


async def send(acts: MailActivities, notification_id: str) -> None:
    """What the mail workflow does: send, and record it sent when the server took it now."""
    inp = MailInput(notification_id=notification_id)
    if await ActivityEnvironment().run(acts.send, inp):
        ActivityEnvironment().run(acts.sent, inp)


async def test_send_delivers_the_message_and_marks_it_sent(
    sessions: SessionFactory, smtp: SmtpServer
) -> None:
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions)
    before = datetime.now(UTC)

    await send(acts, note.id)
    await send(acts, note.id)  # a retry after the mail went out and was marked: not sent again

    [delivered] = smtp.inbox
    assert delivered.recipients == [note.recipient_email]
    assert delivered.mail_from == "microcred@example.org"
    assert delivered.message["To"] == note.recipient_email
    assert delivered.message["Subject"] == note.subject
    assert delivered.message["Message-ID"] == f"<{note.id}@microcred.local>"
    body = delivered.message.get_payload(decode=True)
    assert isinstance(body, bytes) and body.decode().splitlines() == note.body.splitlines()
    sent = stored(sessions, note.id)
    assert sent.mail_status == "sent" and sent.mailed_at is not None and sent.mailed_at >= before
    assert sent.mail_error is None


async def test_a_message_delivered_twice_keeps_its_message_id(
    sessions: SessionFactory, smtp: SmtpServer
) -> None:
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions)

    inp = MailInput(notification_id=note.id)
    assert await ActivityEnvironment().run(acts.send, inp)
    # The worker died between the delivery and the workflow hearing of it: the retry delivers
    # again, and the recipient's mail system can tell it is the same message.
    assert await ActivityEnvironment().run(acts.send, inp)

    assert [d.message["Message-ID"] for d in smtp.inbox] == [message_id(note.id)] * 2


async def test_send_to_the_admins_reaches_each_of_them(sessions: SessionFactory, smtp: SmtpServer) -> None:
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions, email=", ".join(ADMIN_EMAILS))

    await send(acts, note.id)

    [delivered] = smtp.inbox
    assert sorted(delivered.recipients) == sorted(ADMIN_EMAILS)


@pytest.mark.parametrize(
    "refusal",
    [{"refuse_recipients": "550 5.1.1 No such user"}, {"refuse_data": "554 5.7.1 Message rejected as spam"}],
    ids=["recipient", "message"],
)
async def test_a_permanent_refusal_fails_for_good(
    sessions: SessionFactory, smtp: SmtpServer, refusal: dict[str, str]
) -> None:
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions)
    for name, reply in refusal.items():
        setattr(smtp, name, reply)

    with pytest.raises(ApplicationError) as refused:
        await send(acts, note.id)

    assert (refused.value.type, refused.value.non_retryable) == ("MailRefused", True)
    assert smtp.inbox == []
    assert stored(sessions, note.id).mail_status == "pending"  # the workflow records the failure


async def test_a_temporary_refusal_is_retried(sessions: SessionFactory, smtp: SmtpServer) -> None:
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions)
    smtp.refuse_data = "451 4.3.0 Try again later"

    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        await send(acts, note.id)

    assert deferred.value.code == 451  # not an ApplicationError: Temporal retries it
    assert stored(sessions, note.id).mail_status == "pending"


async def test_a_mail_server_that_is_down_is_retried(sessions: SessionFactory) -> None:
    down = SmtpServer()  # its port, with nothing listening
    acts = MailActivities(sessions, mail_settings(down))
    note = pending(sessions)

    with pytest.raises(aiosmtplib.SMTPConnectError):
        await send(acts, note.id)

    assert stored(sessions, note.id).mail_status == "pending"


def test_give_up_records_the_failure(sessions: SessionFactory) -> None:
    acts = MailActivities(sessions, mail_settings())
    note = pending(sessions)

    ActivityEnvironment().run(acts.give_up, MailInput(notification_id=note.id, error="550 No such user"))

    failed = stored(sessions, note.id)
    assert (failed.mail_status, failed.mail_error, failed.mailed_at) == ("failed", "550 No such user", None)


# --- through Temporal: MailDeliveryWorkflow on a worker ---------------------------------------


async def eventually(probe: Callable[[], Awaitable[Any]], *, within: float = 15) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_notify_hands_the_mail_to_its_workflow(
    ts_env: WorkflowEnvironment, sessions: SessionFactory, smtp: SmtpServer
) -> None:
    someone = add_member(sessions)
    async with running_worker(ts_env.client, sessions, mail=mail_settings(smtp)) as run:
        notify = notifier(sessions, mail_settings(smtp, task_queue=run.task_queue), ts_env.client)
        inp = notice(NotificationKind.SUBMISSION_RECEIVED, Audience.MEMBER, someone)
        [note] = await notify(inp)
        assert note.mail_status == "pending"

        await ts_env.client.get_workflow_handle(f"mail-{note.id}").result()
        [again] = await notify(inp)  # the notify activity retried after the mail went out

    assert again.id == note.id
    [delivered] = smtp.inbox
    assert delivered.recipients == [f"{someone}@example.org"]
    assert delivered.message["Subject"] == "Submitted: Inquiry in practice"
    assert delivered.message["Message-ID"] == message_id(note.id)
    assert stored(sessions, note.id).mail_status == "sent"


async def _completed_activities(handle: WorkflowHandle[Any, Any]) -> set[str]:
    """The types of the activities that completed in the workflow's history."""
    scheduled: dict[int, str] = {}
    done: set[str] = set()
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done.add(scheduled[e.activity_task_completed_event_attributes.scheduled_event_id])
    return done


async def test_a_mail_server_that_is_down_never_holds_up_an_enrolment(
    ts_env: WorkflowEnvironment, sessions: SessionFactory
) -> None:
    smtp = SmtpServer()  # down for now
    doc = publish(sessions)
    someone = member()
    async with running_worker(ts_env.client, sessions, mail=mail_settings(smtp)) as run:
        created = await enrolments.enrol(
            sessions=sessions, workflows=run.workflows, principal=someone, credential_id=doc.id
        )
        assert created.checkout_session_id is not None
        await run.workflows.payment_confirmed(
            created.id,
            PaymentConfirmed(
                checkout_session_id=created.checkout_session_id,
                event_id=uid("evt"),
                amount=9900,
                currency="usd",
            ),
        )
        enrolment = ts_env.client.get_workflow_handle(f"enrolment-{created.id}")

        # The lifecycle step ran to its end: the receipt is recorded and its notify activity completed.
        async def notified() -> bool:
            return "notifications.notify" in await _completed_activities(enrolment)

        await eventually(notified)
        with sessions() as session:
            [receipt] = session.exec(
                select(Notification).where(
                    Notification.enrolment_id == created.id,
                    Notification.kind == NotificationKind.PURCHASE_RECEIPT.value,
                )
            ).all()
        assert receipt.mail_status == "pending"
        assert (await run.workflows.state(created.id)).status == "in_progress"

        # Meanwhile its mail keeps being retried.
        mail = ts_env.client.get_workflow_handle(f"mail-{receipt.id}")
        await ts_env.sleep(timedelta(minutes=3))

        async def retried() -> bool:
            described = await mail.describe()
            attempts = [a.attempt for a in described.raw_description.pending_activities]
            return described.status == WorkflowExecutionStatus.RUNNING and bool(attempts) and attempts[0] >= 3

        await eventually(retried)
        assert smtp.inbox == []
        assert stored(sessions, receipt.id).mail_status == "pending"

        # The mail server comes back: the next retry (at most an hour later) delivers the receipt.
        smtp.start()
        try:
            await ts_env.sleep(timedelta(hours=1))
            await mail.result()
        finally:
            smtp.stop()

    [delivered] = smtp.inbox
    assert delivered.recipients == [someone.email]
    assert delivered.message["Subject"] == f"Receipt: {doc.title}"
    assert stored(sessions, receipt.id).mail_status == "sent"


async def test_a_database_down_after_the_mail_went_never_mails_it_again(
    ts_env: WorkflowEnvironment, sessions: SessionFactory, smtp: SmtpServer
) -> None:
    """Found by ``make chaos``: sending and recording were one activity, so a PostgreSQL restart
    after the mail server took the message retried the send, and the member got it twice."""
    acts = MailActivities(sessions, mail_settings(smtp))
    note = pending(sessions)
    failures = 2

    @activity.defn(name=Activity.MAIL_SENT)
    def sent(inp: MailInput) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("connection refused: the database is restarting")
        acts.sent(inp)

    async with running_worker(ts_env.client, sessions, activities=[acts.send, sent, acts.give_up]) as run:
        await ts_env.client.execute_workflow(
            MAIL_WORKFLOW, MailInput(notification_id=note.id), id=f"mail-{note.id}", task_queue=run.task_queue
        )

    assert failures == 0
    assert [d.message["Message-ID"] for d in smtp.inbox] == [message_id(note.id)]
    assert stored(sessions, note.id).mail_status == "sent"
