"""The harness of the workflow tests: a worker over the real activities, and readable steps.

Every step goes through what the product exposes: ``Lifecycle`` (updates, signals, the
``state`` query) for the workflow, services for task saves, and the database read model,
notifications, timeline, submissions, marks and payments for the effects.

Time on the time-skipping server is global and jumps: steps never compare with wall time, only
with the times the workflow wrote (``purchased_at``, ``due_at``, notification ``created_at``...),
and time moves only in ``advance_to``/``advance`` (``env.sleep``) or while awaiting a result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlmodel import col, select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import worker as worker_module
from activities.badges import BadgeActivities
from activities.notifications import MailSettings, NotificationActivities
from microcred.badges import BadgeIssuer
from microcred.contracts import (
    BadgeInput,
    BadgeResult,
    DecisionRequest,
    DecisionResult,
    EnrolmentResult,
    EnrolmentState,
    Mark,
    NotifyInput,
    Outcome,
    PaymentConfirmed,
    SubmitRequest,
    SubmitResult,
)
from microcred.db import SessionFactory, transaction
from microcred.documents import CredentialDoc
from microcred.errors import MicrocredError
from microcred.identity import Principal
from microcred.models import (
    CommunityMembership,
    Enrolment,
    Notification,
    Payment,
    RubricMark,
    Submission,
    TaskResponse,
    TimelineEntry,
)
from microcred.payments import IssuedRefund, OfflineGateway, PaidCharge, PaymentGateway
from microcred.sandbox import workflow_runner
from microcred.services import enrolments, work
from microcred.temporal.client import WorkflowClient
from microcred.temporal.names import enrolment_workflow_id
from tests.support import API_BASE, FAIL_FAST, Running, member, test_settings, uid, webhook_processing
from workflows.enrolment import EnrolmentWorkflow

T = TypeVar("T")
E = TypeVar("E", bound=MicrocredError)
ADMINS = "admins"


@activity.defn(name="badges.issue")
def fake_issue_badge(inp: BadgeInput) -> BadgeResult:
    """Stands in for the badge activity (issue 5): the lifecycle only needs a badge id back."""
    return BadgeResult(badge_id=f"badge-{inp.enrolment_id}-{inp.attempt}")


async def eventually(probe: Callable[[], T | None], *, within: float = 10, what: str = "condition") -> T:
    """Poll ``probe`` (a database read) until it is truthy: activities write after the message answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached in time (last value {value!r})")
        await asyncio.sleep(0.05)


@dataclass
class Enrolled:
    """One enrolment made through the enrolment service."""

    id: str
    member: Principal
    doc: CredentialDoc
    checkout_session_id: str

    @property
    def workflow_id(self) -> str:
        return enrolment_workflow_id(self.id)


@dataclass
class Harness:
    env: WorkflowEnvironment
    db: SessionFactory
    workflows: WorkflowClient
    task_queue: str
    started: list[str] = field(default_factory=list)

    @classmethod
    def over(cls, env: WorkflowEnvironment, run: Running) -> Harness:
        """Drive enrolments on a worker from ``tests.support.running_worker``."""
        return cls(env, run.sessions, run.workflows, run.task_queue)

    # --- time -------------------------------------------------------------------------------

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def advance_to(self, moment: datetime) -> None:
        """Skip the server's clock to ``moment`` (timers due on the way fire in order)."""
        delta = moment - await self.now()
        if delta > timedelta(0):
            await self.env.sleep(delta)

    async def advance(self, delta: timedelta) -> None:
        await self.env.sleep(delta)

    # --- the member -------------------------------------------------------------------------

    async def enrol(self, doc: CredentialDoc, who: Principal | None = None) -> Enrolled:
        who = who or member()
        created = await enrolments.enrol(
            sessions=self.db, workflows=self.workflows, principal=who, credential_id=doc.id
        )
        self.started.append(enrolment_workflow_id(created.id))
        assert created.checkout_session_id is not None
        return Enrolled(created.id, who, doc, created.checkout_session_id)

    async def pay(
        self,
        e: Enrolled,
        session_id: str | None = None,
        *,
        event_id: str | None = None,
        amount: int | None = None,
    ) -> bool:
        """Deliver the payment webhook's signal for ``session_id`` (default: the first checkout)."""
        return await self.workflows.payment_confirmed(
            e.id,
            PaymentConfirmed(
                checkout_session_id=session_id or e.checkout_session_id,
                event_id=event_id or uid("evt"),
                amount=e.doc.price.amount if amount is None else amount,
                currency=e.doc.price.currency,
            ),
        )

    async def held(self, doc: CredentialDoc) -> Enrolled:
        """Enrolled; the checkout was completed with a bank debit, still processing when the
        payment window passed (three days ago): the workflow holds the checkout for it."""
        e = await self.enrol(doc)
        webhook_processing(self.db, e.checkout_session_id)
        await self.advance_to(self.payments(e)[e.checkout_session_id].expires_at + timedelta(days=3))
        await eventually(lambda: self.timeline(e, "payment_processing"), what="held")
        return e

    async def paid(self, e: Enrolled) -> Enrolment:
        """Pay the first checkout and wait until the enrolment is in progress."""
        await self.pay(e)
        return await eventually(lambda: self.row_if(e, status="in_progress"), what="in progress")

    def save(self, e: Enrolled, task_id: str, response: str = "my answer") -> TaskResponse:
        with transaction(self.db) as session:
            return work.save_task(
                session,
                enrolment_id=e.id,
                member_id=e.member.sub,
                task_id=task_id,
                response=response,
                now=datetime.now(UTC),
            )

    def required_tasks(self, e: Enrolled) -> list[str]:
        return [t.id for s in e.doc.sections for t in s.tasks if t.required]

    async def submit(self, e: Enrolled, *, answer: bool = True) -> SubmitResult:
        """Answer every required task (unless ``answer`` is False) and submit."""
        if answer:
            for task_id in self.required_tasks(e):
                self.save(e, task_id, f"answer to {task_id}")
        return await self.workflows.submit(
            e.id, SubmitRequest(agree_terms=True, answered_task_ids=work_answered(self.db, e.id))
        )

    async def assigned(self, e: Enrolled, evaluator_id: str) -> Enrolment:
        """Wait until the review is ``evaluator_id``'s, and the workflow has settled after it."""
        await eventually(
            lambda: self.row_if(e, evaluator_id=evaluator_id), what=f"assigned to {evaluator_id}"
        )
        await self.quiet(e)
        return self.row(e)

    async def decide(
        self, e: Enrolled, evaluator_id: str, *, unmet: Iterable[str] = (), outcome: Outcome | None = None
    ) -> DecisionResult:
        unmet = set(unmet)
        return await self.workflows.decide(
            e.id,
            DecisionRequest(
                evaluator_id=evaluator_id,
                outcome=outcome or (Outcome.RESUBMIT if unmet else Outcome.APPROVED),
                marks=marks(e.doc, unmet=unmet),
                feedback="thank you",
            ),
        )

    # --- reads ------------------------------------------------------------------------------

    def row(self, e: Enrolled | str) -> Enrolment:
        with self.db() as session:
            found = session.get(Enrolment, e if isinstance(e, str) else e.id)
            assert found is not None
            return found

    def row_if(self, e: Enrolled, **expected: Any) -> Enrolment | None:
        found = self.row(e)
        return found if all(getattr(found, k) == v for k, v in expected.items()) else None

    def notes(self, e: Enrolled, kind: str | None = None, recipient: str | None = None) -> list[Notification]:
        with self.db() as session:
            query = select(Notification).where(Notification.enrolment_id == e.id)
            if kind is not None:
                query = query.where(Notification.kind == kind)
            if recipient is not None:
                query = query.where(Notification.recipient_id == recipient)
            return list(session.exec(query.order_by(col(Notification.created_at))).all())

    async def notes_counted(self, e: Enrolled, kind: str, count: int) -> list[Notification]:
        """Wait until ``count`` notifications of ``kind`` exist for the enrolment; oldest first."""

        def counted() -> list[Notification] | None:
            found = self.notes(e, kind)
            return found if len(found) == count else None

        return await eventually(counted, what=f"{count} {kind} notification(s)")

    def timeline(self, e: Enrolled, kind: str | None = None) -> list[TimelineEntry]:
        with self.db() as session:
            query = select(TimelineEntry).where(TimelineEntry.enrolment_id == e.id)
            if kind is not None:
                query = query.where(TimelineEntry.kind == kind)
            return list(session.exec(query.order_by(col(TimelineEntry.id))).all())

    def payments(self, e: Enrolled) -> dict[str, Payment]:
        with self.db() as session:
            rows = session.exec(select(Payment).where(Payment.enrolment_id == e.id)).all()
            return {p.checkout_session_id: p for p in rows}

    def submission(self, e: Enrolled, attempt: int) -> Submission | None:
        with self.db() as session:
            return session.get(Submission, (e.id, attempt))

    def marks(self, e: Enrolled, attempt: int) -> dict[str, RubricMark]:
        with self.db() as session:
            rows = session.exec(
                select(RubricMark).where(RubricMark.enrolment_id == e.id, RubricMark.attempt == attempt)
            ).all()
            return {m.criterion_id: m for m in rows}

    def memberships(self, who: Principal) -> list[CommunityMembership]:
        with self.db() as session:
            return list(
                session.exec(
                    select(CommunityMembership).where(CommunityMembership.member_id == who.sub)
                ).all()
            )

    async def state(self, e: Enrolled) -> EnrolmentState:
        return await self.workflows.state(e.id)

    async def snapshot(self, e: Enrolled) -> tuple[dict[str, Any], dict[str, Any]]:
        """The workflow state and the read-model row, to compare before and after a rejection."""
        state = (await self.state(e)).model_dump()
        row = self.row(e).model_dump(exclude={"row_version"})  # a lock counter: taking the lock bumps it
        return state, row

    async def quiet(self, e: Enrolled, *, within: float = 10) -> None:
        """Wait until the workflow has handled everything sent to it and runs no activity.

        A signal answers nothing, so "it changed nothing" is only meaningful once its history
        shows a completed workflow task after it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not _quiet([event async for event in self.handle(e).fetch_history_events()]):
            if loop.time() > deadline:
                raise AssertionError("the workflow did not settle in time")
            await asyncio.sleep(0.05)

    async def ended(self, e: Enrolled) -> EnrolmentResult:
        """The end of an enrolment that is finishing now, without skipping time (which would move
        every other workflow on this server forward too)."""
        result: EnrolmentResult = await self.handle(e).result()
        return result

    async def result(self, e: Enrolled) -> EnrolmentResult:
        """The enrolment's end, skipping time until it comes.

        The test environment skips time while awaiting ``result()`` only on the handles that its
        own ``start_workflow`` returned; the enrolment service started this one, so unlock here.
        """
        test_service = self.env.client.test_service
        await test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        try:
            result: EnrolmentResult = await self.handle(e).result()
        finally:
            await test_service.lock_time_skipping(LockTimeSkippingRequest())
        return result

    def handle(self, e: Enrolled, run_id: str | None = None) -> WorkflowHandle[EnrolmentWorkflow, Any]:
        return self.env.client.get_workflow_handle_for(EnrolmentWorkflow.run, e.workflow_id, run_id=run_id)


_ACTIVITY_ENDS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


async def refused(h: Harness, e: Enrolled, call: Awaitable[Any], error: type[E]) -> E:
    """``call`` fails with ``error`` and leaves the workflow state and the read model as they were."""
    await h.quiet(e)
    before = await h.snapshot(e)
    with pytest.raises(error) as raised:
        await call
    await h.quiet(e)
    assert changes(before, await h.snapshot(e)) == {}
    return raised.value


def changes(
    before: tuple[dict[str, Any], dict[str, Any]], after: tuple[dict[str, Any], dict[str, Any]]
) -> dict[str, tuple[Any, Any]]:
    """What differs between two ``Harness.snapshot``s, as {"state.field" | "row.field": (before, after)}."""
    found: dict[str, tuple[Any, Any]] = {}
    for where, old, new in (("state", before[0], after[0]), ("row", before[1], after[1])):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                found[f"{where}.{key}"] = (old.get(key), new.get(key))
    return found


def _quiet(events: list[HistoryEvent]) -> bool:
    task_pending, activities = False, set()
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_pending = True
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task_pending = False
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(event.event_id)
        elif event.event_type in _ACTIVITY_ENDS:
            activities.discard(getattr(event, _ACTIVITY_ENDS[event.event_type]).scheduled_event_id)
    return not task_pending and not activities


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar ``months``, the day clamped to the month's last (Jan 31 + 1 = Feb 28/29).

    Written independently of ``microcred.policies`` so the tests check its arithmetic.
    """
    year, month0 = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    following = date(year + (month0 == 11), (month0 + 1) % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month0 + 1, day=min(moment.day, last_day))


def work_answered(db: SessionFactory, enrolment_id: str) -> list[str]:
    with db() as session:
        return work.answered_task_ids(session, enrolment_id=enrolment_id)


class Gates:
    """Holds chosen refunds (by checkout session) and notices (by kind) until released, and
    tells when each has been reached: the test orders what the workflow does concurrently."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refunds: dict[str, asyncio.Event] = {}
        self.notices: dict[str, threading.Event] = {}
        self.reached: set[str] = set()
        refund, record = OfflineGateway.refund, NotificationActivities._record

        async def held_refund(
            gateway: OfflineGateway, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1
        ) -> IssuedRefund:
            gate = self.refunds.get(charge.checkout_session_id)
            if gate is not None:
                self.reached.add(f"refund:{charge.checkout_session_id}")
                await gate.wait()
            return await refund(gateway, charge, idempotency_key=idempotency_key, attempt=attempt)

        def held_record(activities: NotificationActivities, inp: NotifyInput) -> list[Notification]:
            gate = self.notices.get(inp.kind.value)
            if gate is not None:
                self.reached.add(f"notice:{inp.kind.value}")
                assert gate.wait(timeout=30), f"the {inp.kind.value} notice was never released"
            return record(activities, inp)

        monkeypatch.setattr(OfflineGateway, "refund", held_refund)
        monkeypatch.setattr(NotificationActivities, "_record", held_record)

    async def reach(self, what: str) -> None:
        await eventually(lambda: what in self.reached, what=what)


def marks(doc: CredentialDoc, *, unmet: Iterable[str] = ()) -> list[Mark]:
    """A mark for every criterion; the ``unmet`` ones not met, with a comment."""
    unmet = set(unmet)
    return [
        Mark(criterion_id=c.id, met=c.id not in unmet, comment="needs work" if c.id in unmet else "")
        for s in doc.sections
        for c in s.rubric
    ]


def all_activities(
    client: Any, db: SessionFactory, gateway: PaymentGateway, task_queue: str, *, real_badges: bool
) -> list[Any]:
    """Every activity of the worker, bound to the test's database; the badge one faked unless asked."""
    deps = worker_module.WorkerDeps(
        sessions=db,
        gateway=gateway,
        issuer=BadgeIssuer.from_settings(test_settings()),
        mail=MailSettings(smtp=None, mail_from="test@example.org", admin_emails=(), task_queue=task_queue),
        api_base_url=API_BASE,
    )
    real = worker_module.activities(client, deps)
    if real_badges:
        return real
    return [a for a in real if not isinstance(getattr(a, "__self__", None), BadgeActivities)] + [
        fake_issue_badge
    ]


@asynccontextmanager
async def running(
    env: WorkflowEnvironment,
    db: SessionFactory,
    *,
    task_queue: str | None = None,
    keep: bool = False,
    cache: bool = True,
    real_badges: bool = False,
    override: Iterable[Callable[..., Any]] = (),
) -> AsyncIterator[Harness]:
    """A worker with every real activity on ``task_queue`` (fresh by default).

    The badge activity (issue 5) is faked unless ``real_badges``: the lifecycle only needs a
    badge id back, and the badge itself has tests of its own.

    On leaving, enrolments still running are terminated while the worker is up, so no timer of
    this test fires into a later one; ``keep`` leaves them for a new worker on the same queue.
    ``cache=False`` keeps no workflow in memory between tasks, so no task waits on this worker's
    sticky queue once it has stopped (the test server never moves one back to the normal queue).
    ``override``: activities that stand in for the real ones of the same names (a fault to inject).
    """
    task_queue = task_queue or uid("tq")
    gateway = OfflineGateway(api_base_url=API_BASE)
    with ThreadPoolExecutor(max_workers=8) as executor:
        built = Worker(
            env.client,
            task_queue=task_queue,
            workflows=list(worker_module.WORKFLOWS),
            activities=_overridden(
                all_activities(env.client, db, gateway, task_queue, real_badges=real_badges), override
            ),
            activity_executor=executor,
            max_concurrent_activities=8,
            max_cached_workflows=1000 if cache else 0,
            graceful_shutdown_timeout=timedelta(seconds=5),
            workflow_runner=workflow_runner(),  # the product worker's runner
            interceptors=worker_module.INTERCEPTORS,
            **FAIL_FAST,
        )
        async with built:
            harness = Harness(env, db, WorkflowClient(env.client, task_queue=task_queue), task_queue)
            try:
                yield harness
            finally:
                if not keep:
                    await _terminate_running(env, harness.started)


def activity_name(fn: Callable[..., Any]) -> str:
    name = activity._Definition.must_from_callable(fn).name
    assert name is not None, "a named activity"
    return name


def real_activity(env: WorkflowEnvironment, db: SessionFactory, name: str) -> Callable[..., Any]:
    """The worker's real activity ``name``, bound to the test's database (to wrap in a fault)."""
    gateway = OfflineGateway(api_base_url=API_BASE)
    found = [
        a
        for a in all_activities(env.client, db, gateway, "unused", real_badges=False)
        if activity_name(a) == name
    ]
    assert found, name
    real: Callable[..., Any] = found[0]
    return real


def _overridden(real: list[Any], override: Iterable[Callable[..., Any]]) -> list[Any]:
    replaced = {activity_name(fn): fn for fn in override}
    return [a for a in real if activity_name(a) not in replaced] + list(replaced.values())


async def _terminate_running(env: WorkflowEnvironment, workflow_ids: list[str]) -> None:
    for workflow_id in workflow_ids:
        try:
            await env.client.get_workflow_handle(workflow_id).terminate(reason="end of test")
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it has already finished
                raise
