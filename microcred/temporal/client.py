"""The Temporal client, built once per process (API lifespan, worker, commands), and the typed
messages to enrolment workflows.

``WorkflowClient`` is the one place that knows workflow ids, message names and how Temporal
reports failures; it addresses the workflows by name (``microcred.temporal.names``), so nothing
outside ``workflows/`` and ``worker.py`` imports workflow code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from microcred import errors
from microcred.config import Settings
from microcred.contracts import (
    CancelEnrolment,
    CheckoutEnded,
    CheckoutInfo,
    ClaimRequest,
    CredentialOutline,
    DecisionRequest,
    DecisionResult,
    EnrolmentInput,
    EnrolmentResult,
    EnrolmentState,
    EnrolmentView,
    ExtendDeadline,
    LatePayment,
    PaymentConfirmed,
    ReassignReview,
    RefundedElsewhere,
    ResendNotification,
    SubmitRequest,
    SubmitResult,
)
from microcred.lifecycle import Status
from microcred.temporal import names
from microcred.temporal.names import Query, Signal, Update

log = logging.getLogger("microcred.temporal")

# How long to wait to learn whether a workflow exists (a failed start), or how it ended.
DESCRIBE_TIMEOUT = timedelta(seconds=10)

T = TypeVar("T")
Handle = WorkflowHandle[Any, EnrolmentResult]


async def connect(settings: Settings, *, runtime: Runtime | None = None, lazy: bool = False) -> Client:
    """A client with the pydantic converter; ``lazy`` connects on first use (the API starts
    even while Temporal is down, and ``/readyz`` says so)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        lazy=lazy,
    )


def exit_after_stop(code: int = 0) -> NoReturn:
    """End a process whose Temporal work has stopped, skipping the interpreter's teardown.

    The SDK's Rust bridge threads can outlive the event loop and abort CPython's finalization
    (SIGABRT, "PyGILState_Release: thread state ... must be current when releasing";
    temporalio/sdk-python#300): a clean stop would look like a crash to whatever supervises the
    process (``microcred dev``, an orchestrator). Logs and output are flushed first.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class WorkflowClient:
    """The enrolment workflows as the API, the webhook handler and the commands see them: typed
    messages in, domain errors out."""

    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @property
    def client(self) -> Client:
        return self._client

    def _handle(self, enrolment_id: str) -> Handle:
        return self._client.get_workflow_handle(
            names.enrolment_workflow_id(enrolment_id), result_type=EnrolmentResult
        )

    async def start(
        self, *, enrolment_id: str, member_id: str, credential: CredentialOutline, summary: str
    ) -> CheckoutInfo:
        """Start the enrolment's workflow and answer with its checkout once it is open."""
        await self.begin(
            enrolment_id=enrolment_id, member_id=member_id, credential=credential, summary=summary
        )
        return await self.checkout(enrolment_id)

    async def begin(
        self, *, enrolment_id: str, member_id: str, credential: CredentialOutline, summary: str
    ) -> None:
        """Start the enrolment's workflow (a retried start joins the run it started).

        ``RunEnded`` when a run of this enrolment has already closed: it is never started again.
        """
        async with _translated(), _run_ended_raised():
            await self._client.start_workflow(
                names.ENROLMENT_WORKFLOW,
                EnrolmentInput(enrolment_id=enrolment_id, member_id=member_id, credential=credential),
                id=names.enrolment_workflow_id(enrolment_id),
                task_queue=self._task_queue,
                # A retried request joins the run it started; a finished enrolment never restarts.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(names.ENROLMENT_STATUS, Status.AWAITING_PAYMENT.value),
                        SearchAttributePair(names.MEMBER_ID, member_id),
                        SearchAttributePair(names.CREDENTIAL_ID, credential.id),
                        SearchAttributePair(names.REVIEW_OVERDUE, False),
                    ]
                ),
                static_summary=summary[:200],
                static_details=(
                    f"Enrolment `{enrolment_id}` of member `{member_id}` in **{credential.title}**."
                ),
            )

    async def workflow_may_exist(self, enrolment_id: str) -> bool:
        """Whether the enrolment's workflow may exist: False only when Temporal answers that no
        workflow has its id. A start that failed (a timeout, a dropped connection) may still have
        been accepted by the server, so any other failure to tell counts as "it may"."""
        try:
            await self._handle(enrolment_id).describe(rpc_timeout=DESCRIBE_TIMEOUT)
        except Exception as failure:
            if isinstance(failure, RPCError) and failure.status is RPCStatusCode.NOT_FOUND:
                return False
            log.warning("could not tell whether enrolment %s's workflow exists", enrolment_id, exc_info=True)
        return True

    async def checkout(self, enrolment_id: str) -> CheckoutInfo:
        return await self._update(enrolment_id, Update.CHECKOUT, result_type=CheckoutInfo)

    async def submit(self, enrolment_id: str, request: SubmitRequest) -> SubmitResult:
        return await self._update(enrolment_id, Update.SUBMIT, request, result_type=SubmitResult)

    async def start_resubmission(self, enrolment_id: str) -> CheckoutInfo:
        return await self._update(enrolment_id, Update.START_RESUBMISSION, result_type=CheckoutInfo)

    async def claim(self, enrolment_id: str, request: ClaimRequest) -> EnrolmentView:
        return await self._update(enrolment_id, Update.CLAIM, request, result_type=EnrolmentView)

    async def decide(self, enrolment_id: str, request: DecisionRequest) -> DecisionResult:
        return await self._update(enrolment_id, Update.DECIDE, request, result_type=DecisionResult)

    async def extend_deadline(self, enrolment_id: str, request: ExtendDeadline) -> EnrolmentView:
        return await self._update(enrolment_id, Update.EXTEND_DEADLINE, request, result_type=EnrolmentView)

    async def reassign_review(self, enrolment_id: str, request: ReassignReview) -> EnrolmentView:
        return await self._update(enrolment_id, Update.REASSIGN_REVIEW, request, result_type=EnrolmentView)

    async def cancel(self, enrolment_id: str, request: CancelEnrolment) -> EnrolmentView:
        return await self._update(enrolment_id, Update.CANCEL, request, result_type=EnrolmentView)

    async def resend_notification(self, enrolment_id: str, request: ResendNotification) -> None:
        await self._update(enrolment_id, Update.RESEND_NOTIFICATION, request, result_type=type(None))

    async def state(self, enrolment_id: str) -> EnrolmentState:
        return await self._call(
            enrolment_id, lambda handle: handle.query(Query.STATE, result_type=EnrolmentState)
        )

    async def payment_confirmed(self, enrolment_id: str, payment: PaymentConfirmed) -> bool:
        """Deliver a paid checkout; False when the enrolment's workflow has finished."""
        return await self._signal(self._handle(enrolment_id).signal(Signal.PAYMENT_CONFIRMED, payment))

    async def payment_mismatched(self, enrolment_id: str, payment: PaymentConfirmed) -> bool:
        """Report a checkout paid another amount than asked; False when the workflow has finished."""
        return await self._signal(self._handle(enrolment_id).signal(Signal.PAYMENT_MISMATCHED, payment))

    async def payment_refunded_elsewhere(self, enrolment_id: str, refunded: RefundedElsewhere) -> bool:
        """Report a full refund made at the provider; False when the workflow has finished."""
        return await self._signal(
            self._handle(enrolment_id).signal(Signal.PAYMENT_REFUNDED_ELSEWHERE, refunded)
        )

    async def checkout_ended(self, enrolment_id: str, ended: CheckoutEnded) -> bool:
        return await self._signal(self._handle(enrolment_id).signal(Signal.CHECKOUT_ENDED, ended))

    async def refund_late_payment(self, payment: LatePayment) -> None:
        """Refund a payment its enrolment can no longer use (once per checkout session)."""
        # Suppressed: this session's refund is already under way or done.
        async with _translated():
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self._client.start_workflow(
                    names.LATE_PAYMENT_WORKFLOW,
                    payment,
                    id=names.late_payment_workflow_id(payment.checkout_session_id),
                    task_queue=self._task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"refund {payment.checkout_session_id} ({payment.reason})"[:200],
                )

    async def _update(self, enrolment_id: str, name: str, request: Any = None, *, result_type: type[T]) -> T:
        """Run update ``name`` (with ``request``, if any) and answer with its typed result."""
        args = [] if request is None else [request]
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(name, args=args, result_type=result_type)
        )

    async def _signal(self, call: Awaitable[None]) -> bool:
        try:
            async with _translated():
                await call
        except errors.InvalidState:
            return False
        return True

    async def _call(self, enrolment_id: str, message: Callable[[Handle], Awaitable[T]]) -> T:
        """Send ``message`` to the enrolment's workflow, its failures as domain errors."""
        handle = self._handle(enrolment_id)
        try:
            async with _translated():
                return await message(handle)
        except _Finished as finished:
            # Say how it ended (a client knows the statuses, not "finished").
            raise errors.InvalidState(finished.message, **await _ending(handle)) from finished


async def _ending(handle: Handle) -> dict[str, str]:
    """The final status of a finished enrolment, when its workflow reported one in time (a
    terminated run reports none; a run still open, should one have followed, is not waited for)."""
    try:
        ended: EnrolmentResult = await asyncio.wait_for(
            handle.result(follow_runs=False), DESCRIBE_TIMEOUT.total_seconds()
        )
    except WorkflowFailureError:  # terminated (by an operator) or failed: no status to name
        return {}
    except Exception:
        log.warning("could not read how workflow %s ended", handle.id, exc_info=True)
        return {}
    return {"status": ended.status.value}


class RunEnded(errors.InvalidState):
    """The enrolment's workflow has closed (and an enrolment's workflow never starts again)."""


@asynccontextmanager
async def _run_ended_raised() -> AsyncIterator[None]:
    try:
        yield
    except WorkflowAlreadyStartedError as closed:  # REJECT_DUPLICATE: a closed run has this id
        raise RunEnded("the enrolment's workflow has ended") from closed


class _Finished(errors.InvalidState):
    """An update or signal reached a workflow that has finished."""


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Temporal's failures as domain errors (see the mapping in shared/TEMPORAL.md)."""
    try:
        yield
    except WorkflowUpdateFailedError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError):
            rebuilt = errors.rebuild(cause.type, cause.message, tuple(cause.details))
            if rebuilt is not None:
                raise rebuilt from failure
        if isinstance(cause, ActivityError):
            # A step of the change gave up (the database out for longer than the workflow waits):
            # the workflow undid the change, so the request can simply be made again.
            raise errors.Unavailable(
                "the change could not be recorded, and nothing changed; try again"
            ) from failure
        raise
    except WorkflowUpdateRPCTimeoutOrCancelledError as failure:
        raise errors.Unavailable("the lifecycle engine did not answer in time; try again") from failure
    except RPCError as failure:
        if failure.status is RPCStatusCode.NOT_FOUND:
            # The API checks that an enrolment exists before it calls; a missing run means the
            # workflow has finished (an update or signal to a closed run).
            raise _Finished("the enrolment has finished") from failure
        if failure.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise errors.Unavailable("the lifecycle engine is unavailable; try again") from failure
        if failure.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            # Temporal's limits (10 updates in flight per enrolment, a rate limit of the server):
            # the request was not taken, and will be once the enrolment has caught up.
            raise errors.Unavailable(
                "this enrolment is busy with other requests; try again shortly"
            ) from failure
        raise
