"""The client side of the enrolment workflow: typed messages in, domain errors out.

The API, the webhook handler and the commands talk to enrolments only through ``Lifecycle``;
it is the one place that knows workflow ids, update names and how Temporal reports failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

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
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from microcred import errors, temporal_names
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
from workflows.enrolment import EnrolmentWorkflow
from workflows.refund import LatePaymentWorkflow

log = logging.getLogger("microcred.lifecycle")

# How long to wait to learn whether a workflow exists (a failed start), or how it ended.
DESCRIBE_TIMEOUT = timedelta(seconds=10)

T = TypeVar("T")
P = ParamSpec("P")
Handle = WorkflowHandle[EnrolmentWorkflow, Any]
R = TypeVar("R")


def _typed(
    update: UpdateMethodMultiParam[Concatenate[EnrolmentWorkflow, P], Coroutine[Any, Any, R]],
) -> UpdateMethodMultiParam[Concatenate[EnrolmentWorkflow, P], R]:
    """The update with its awaited result type. temporalio's ``@workflow.update(description=...)``
    overload types an ``async def`` handler as returning a coroutine; this undoes that, typed."""
    return cast(UpdateMethodMultiParam[Concatenate[EnrolmentWorkflow, P], R], update)


class Lifecycle:
    def __init__(self, client: Client, *, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @property
    def client(self) -> Client:
        return self._client

    def _handle(self, enrolment_id: str) -> Handle:
        return self._client.get_workflow_handle_for(
            EnrolmentWorkflow.run, temporal_names.enrolment_workflow_id(enrolment_id)
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
                EnrolmentWorkflow.run,
                EnrolmentInput(enrolment_id=enrolment_id, member_id=member_id, credential=credential),
                id=temporal_names.enrolment_workflow_id(enrolment_id),
                task_queue=self._task_queue,
                # A retried request joins the run it started; a finished enrolment never restarts.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(temporal_names.ENROLMENT_STATUS, "awaiting_payment"),
                        SearchAttributePair(temporal_names.MEMBER_ID, member_id),
                        SearchAttributePair(temporal_names.CREDENTIAL_ID, credential.id),
                        SearchAttributePair(temporal_names.REVIEW_OVERDUE, False),
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
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.checkout))
        )

    async def submit(self, enrolment_id: str, request: SubmitRequest) -> SubmitResult:
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.submit), request)
        )

    async def start_resubmission(self, enrolment_id: str) -> CheckoutInfo:
        return await self._call(
            enrolment_id,
            lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.start_resubmission)),
        )

    async def claim(self, enrolment_id: str, request: ClaimRequest) -> EnrolmentView:
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.claim), request)
        )

    async def decide(self, enrolment_id: str, request: DecisionRequest) -> DecisionResult:
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.decide), request)
        )

    async def extend_deadline(self, enrolment_id: str, request: ExtendDeadline) -> EnrolmentView:
        return await self._call(
            enrolment_id,
            lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.extend_deadline), request),
        )

    async def reassign_review(self, enrolment_id: str, request: ReassignReview) -> EnrolmentView:
        return await self._call(
            enrolment_id,
            lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.reassign_review), request),
        )

    async def cancel(self, enrolment_id: str, request: CancelEnrolment) -> EnrolmentView:
        return await self._call(
            enrolment_id, lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.cancel), request)
        )

    async def resend_notification(self, enrolment_id: str, request: ResendNotification) -> None:
        await self._call(
            enrolment_id,
            lambda handle: handle.execute_update(_typed(EnrolmentWorkflow.resend_notification), request),
        )

    async def state(self, enrolment_id: str) -> EnrolmentState:
        return await self._call(enrolment_id, lambda handle: handle.query(EnrolmentWorkflow.state))

    async def payment_confirmed(self, enrolment_id: str, payment: PaymentConfirmed) -> bool:
        """Deliver a paid checkout; False when the enrolment's workflow has finished."""
        return await self._signal(
            self._handle(enrolment_id).signal(EnrolmentWorkflow.payment_confirmed, payment)
        )

    async def payment_mismatched(self, enrolment_id: str, payment: PaymentConfirmed) -> bool:
        """Report a checkout paid another amount than asked; False when the workflow has finished."""
        return await self._signal(
            self._handle(enrolment_id).signal(EnrolmentWorkflow.payment_mismatched, payment)
        )

    async def payment_refunded_elsewhere(self, enrolment_id: str, refunded: RefundedElsewhere) -> bool:
        """Report a full refund made at the provider; False when the workflow has finished."""
        return await self._signal(
            self._handle(enrolment_id).signal(EnrolmentWorkflow.payment_refunded_elsewhere, refunded)
        )

    async def checkout_ended(self, enrolment_id: str, ended: CheckoutEnded) -> bool:
        return await self._signal(self._handle(enrolment_id).signal(EnrolmentWorkflow.checkout_ended, ended))

    async def refund_late_payment(self, payment: LatePayment) -> None:
        """Refund a payment its enrolment can no longer use (once per checkout session)."""
        # Suppressed: this session's refund is already under way or done.
        async with _translated():
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self._client.start_workflow(
                    LatePaymentWorkflow.run,
                    payment,
                    id=f"refund-{payment.checkout_session_id}",
                    task_queue=self._task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"refund {payment.checkout_session_id} ({payment.reason})"[:200],
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
        raise
