"""One durable workflow per enrolment (id ``enrolment-<enrolment_id>``): the whole lifecycle.

The run loop is the one place that acts on time and on the payment provider: it performs what
is due (``duties.catch_up``), sends the queued notifications, and sleeps on a durable timer
until the next alarm or the next change. Signals only note what arrived and wake the loop.
Updates (the member's, the evaluator's, the admins') are checked by their validators before
anything is accepted, then change the state under the lock and persist it before they answer,
so a 200 from the API means the change is already readable.

History stays small: task drafts never pass through the workflow (they go to the database), and
each new attempt continues as new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.enrolment import duties, payments, repairs, review
from workflows.enrolment.context import Enrolment, rejected, rejection
from workflows.enrolment.visibility import checkout_info

with workflow.unsafe.imports_passed_through():
    from microcred import rules
    from microcred.contracts import (
        Arrival,
        ArrivalKind,
        CancelEnrolment,
        CheckoutEnded,
        CheckoutInfo,
        ClaimRequest,
        DecisionRequest,
        DecisionResult,
        EnrolmentInput,
        EnrolmentResult,
        EnrolmentState,
        EnrolmentView,
        ExtendDeadline,
        PaymentConfirmed,
        ReassignReview,
        RefundedElsewhere,
        ResendNotification,
        SubmitRequest,
        SubmitResult,
    )
    from microcred.errors import MicrocredError
    from microcred.lifecycle import Status
    from microcred.temporal.names import ENROLMENT_WORKFLOW, Query, Signal, Update

T = TypeVar("T")
R = TypeVar("R")
WORK_AFTER_END = "work-after-late-change"  # docs/workflow-versioning.md, live patches


@workflow.defn(name=ENROLMENT_WORKFLOW)
class EnrolmentWorkflow:
    @workflow.init
    def __init__(self, inp: EnrolmentInput) -> None:
        self.e = Enrolment(inp)
        # Held by the run loop while it performs duties and by each update while it changes the
        # state, so that every change starts from the state the last one left.
        self.lock = asyncio.Lock()
        self.first_attempt = self.e.state.attempt  # of this run
        self.stall = duties.Stall()

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        e = self.e
        if inp.state is None:
            e.state.enrolled_at = workflow.now()
        e.changed()
        while True:
            seen = await self._work()
            # A change made while the notifications went out (an approval) may have made a duty
            # due (the badge): the work is done again before the run ends.
            if e.state.status.terminal and (e.changes == seen or not workflow.patched(WORK_AFTER_END)):
                break
            if self._continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    EnrolmentInput(
                        enrolment_id=e.id, member_id=e.member, credential=e.credential, state=e.state
                    )
                )
            await duties.sleep(e, seen)
        # Ended: whatever still arrives (a payment made as it ended, to refund) is acted on, and
        # every notification goes out, before the run ends.
        while not workflow.all_handlers_finished() or e.state.arrivals or e.state.outbox:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._work()
        return EnrolmentResult(status=e.state.status, attempt=e.state.attempt, badge_id=e.state.badge_id)

    async def _work(self) -> int:
        """Everything due now, then the queued notifications; a step that gave up is tried again
        after a pause (``duties.Stall``). Answers the change count the work ended at."""
        while True:
            try:
                async with self.lock:
                    await duties.catch_up(self.e)
                    seen = self.e.changes
                # Without the lock: a member's or an evaluator's message never waits behind
                # mail; a change made meanwhile wakes the loop at once (``seen``).
                await self.e.send_notifications()
            except ActivityError as failure:
                await self.stall.pause(self.e, failure)
                continue
            self.stall.clear()
            return seen

    def _continue_as_new(self) -> bool:
        """A new attempt starts a fresh history (or the server asks); the state travels whole."""
        s = self.e.state
        if s.outbox or s.arrivals:
            return False
        new_attempt = s.attempt > self.first_attempt and s.status is Status.IN_PROGRESS
        return new_attempt or workflow.info().is_continue_as_new_suggested()

    async def _changing(
        self, validate: Callable[[R], None], request: R, change: Callable[[Enrolment, R], Awaitable[T]]
    ) -> T:
        """An update's change, under the lock: validated again first (the state may have moved
        since its validator ran), its domain errors failing the update, never the workflow."""
        async with self.lock:
            validate(request)
            try:
                with self.e.all_or_nothing():
                    return await change(self.e, request)
            except MicrocredError as error:
                raise rejection(error) from None

    def _note(self, kind: ArrivalKind, session_id: str, **what: Any) -> None:
        """A signal notes what the payment provider said; the run loop acts on it."""
        self.e.state.arrivals.append(Arrival(kind=kind, checkout_session_id=session_id, **what))
        self.e.changes += 1

    # --- the payment provider (signals) ---------------------------------------------------------

    @workflow.signal(name=Signal.PAYMENT_CONFIRMED, description="A checkout session was paid.")
    def payment_confirmed(self, paid: PaymentConfirmed) -> None:
        self._note(ArrivalKind.PAID, paid.checkout_session_id, payment=paid)

    @workflow.signal(name=Signal.PAYMENT_MISMATCHED, description="A checkout was paid another amount.")
    def payment_mismatched(self, paid: PaymentConfirmed) -> None:
        self._note(ArrivalKind.MISMATCHED, paid.checkout_session_id, payment=paid)

    @workflow.signal(name=Signal.PAYMENT_REFUNDED_ELSEWHERE, description="Refunded at the provider.")
    def payment_refunded_elsewhere(self, refunded: RefundedElsewhere) -> None:
        self._note(ArrivalKind.REFUNDED_ELSEWHERE, refunded.checkout_session_id)

    @workflow.signal(name=Signal.CHECKOUT_ENDED, description="A checkout can no longer be paid.")
    def checkout_ended(self, ended: CheckoutEnded) -> None:
        self._note(ArrivalKind.CHECKOUT_ENDED, ended.checkout_session_id, reason=ended.reason)

    # --- the member -------------------------------------------------------------------------------

    @workflow.update(name=Update.CHECKOUT, description="The open checkout, once the workflow opened it.")
    async def checkout(self) -> CheckoutInfo:
        await workflow.wait_condition(
            lambda: self.e.state.checkout is not None or not self.e.state.status.awaiting_payment
        )
        async with self.lock:  # answered once the run loop has recorded it too
            return checkout_info(self.e.state)

    @checkout.validator
    def _validate_checkout(self) -> None:
        rejected(rules.check_checkout, self.e.state)

    @workflow.update(name=Update.SUBMIT, description="Freeze the responses as the attempt's submission.")
    async def submit(self, request: SubmitRequest) -> SubmitResult:
        return await self._changing(self._validate_submit, request, review.submit)

    @submit.validator
    def _validate_submit(self, request: SubmitRequest) -> None:
        rejected(rules.check_submit, self.e.state, request, self.e.credential, workflow.now())

    @workflow.update(name=Update.START_RESUBMISSION, description="Open the resubmission's checkout.")
    async def start_resubmission(self) -> CheckoutInfo:
        return await self._changing(
            lambda _: self._validate_start_resubmission(), None, payments.start_resubmission
        )

    @start_resubmission.validator
    def _validate_start_resubmission(self) -> None:
        rejected(rules.check_resubmission_start, self.e.state, workflow.now())

    # --- the evaluator ----------------------------------------------------------------------------

    @workflow.update(name=Update.CLAIM, description="An eligible evaluator claims an unassigned review.")
    async def claim(self, request: ClaimRequest) -> EnrolmentView:
        return await self._changing(self._validate_claim, request, review.claim)

    @claim.validator
    def _validate_claim(self, request: ClaimRequest) -> None:
        rejected(rules.check_claim, self.e.state, self.e.member, request)

    @workflow.update(name=Update.DECIDE, description="The assigned evaluator decides on the review.")
    async def decide(self, request: DecisionRequest) -> DecisionResult:
        return await self._changing(self._validate_decide, request, review.decide)

    @decide.validator
    def _validate_decide(self, request: DecisionRequest) -> None:
        rejected(rules.check_decision, self.e.state, request, self.e.credential)

    # --- the admins' repairs ----------------------------------------------------------------------

    @workflow.update(name=Update.EXTEND_DEADLINE, description="Admin: move the deadline later.")
    async def extend_deadline(self, request: ExtendDeadline) -> EnrolmentView:
        return await self._changing(self._validate_extend, request, repairs.extend_deadline)

    @extend_deadline.validator
    def _validate_extend(self, request: ExtendDeadline) -> None:
        rejected(rules.check_extend, self.e.state, request)

    @workflow.update(name=Update.REASSIGN_REVIEW, description="Admin: hand the review to another evaluator.")
    async def reassign_review(self, request: ReassignReview) -> EnrolmentView:
        return await self._changing(self._validate_reassign, request, repairs.reassign_review)

    @reassign_review.validator
    def _validate_reassign(self, request: ReassignReview) -> None:
        rejected(rules.check_reassign, self.e.state, self.e.member, request)

    @workflow.update(name=Update.CANCEL, description="Admin: cancel, refunding as the policy says.")
    async def cancel(self, request: CancelEnrolment) -> EnrolmentView:
        return await self._changing(self._validate_cancel, request, repairs.cancel)

    @cancel.validator
    def _validate_cancel(self, request: CancelEnrolment) -> None:
        rejected(rules.check_cancel, self.e.state, request)

    @workflow.update(name=Update.RESEND_NOTIFICATION, description="Admin: send a notification again.")
    async def resend_notification(self, request: ResendNotification) -> None:
        await self._changing(self._validate_resend, request, repairs.resend_notification)

    @resend_notification.validator
    def _validate_resend(self, request: ResendNotification) -> None:
        rejected(rules.check_admin_action, request)

    @workflow.query(name=Query.STATE, description="The whole state of the enrolment, for operators.")
    def state(self) -> EnrolmentState:
        return self.e.state
