"""One durable workflow per enrolment (id ``enrolment-<enrolment_id>``): the whole lifecycle.

Design: messages (updates and signals) change the state under one lock and persist the change
through an activity before they answer. Everything driven by time or by a previous change
(opening a checkout, assigning an evaluator, reminders, expiry, the review SLA, notices,
the badge) is a *duty* that ``_catch_up`` performs when it is due; the run loop alternates
``_catch_up`` with a durable sleep until the next alarm or the next change. So every status
is handled in one place, and a restarted or continued-as-new run resumes from its state alone.

History stays small by design: task drafts never pass through the workflow (they go to the
database), and each new attempt continues as new, so resubmissions cannot grow it unboundedly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.badges import BadgeActivities
    from activities.notifications import NotificationActivities
    from activities.payments import PaymentActivities
    from activities.store import StoreActivities
    from microcred import policies, rules
    from microcred.contracts import (
        AssignInput,
        Audience,
        BadgeInput,
        CancelEnrolment,
        Checkout,
        CheckoutEnded,
        CheckoutInfo,
        CheckoutRequest,
        ClaimRequest,
        CloseCheckoutRequest,
        ClosedCheckout,
        CommunityInput,
        CredentialOutline,
        DecisionInput,
        DecisionRequest,
        DecisionResult,
        EnrolmentInput,
        EnrolmentResult,
        EnrolmentState,
        EnrolmentView,
        EventKind,
        ExtendDeadline,
        FreezeInput,
        MarkRecord,
        Money,
        NotificationKind,
        NotifyInput,
        Outcome,
        PaymentConfirmed,
        PurchaseKind,
        ReassignReview,
        RecordInput,
        RefundedElsewhere,
        RefundRequest,
        ResendInput,
        ResendNotification,
        Status,
        SubmitRequest,
        SubmitResult,
        TimelineEvent,
    )
    from microcred.errors import AlreadyClaimed, InvalidRequest, InvalidState, MicrocredError, NotEligible
    from microcred.temporal import names as temporal_names

T = TypeVar("T")
SYSTEM = "system"
DB_TIMEOUT = timedelta(seconds=30)
REMOTE_TIMEOUT = timedelta(minutes=2)
CLOSE_TIMEOUT = timedelta(minutes=30)  # closing a checkout at its window's end, retries included
# Patches (see "Safe deploys of workflow code" in the README): workflows that took the old path
# before a change keep replaying it.
ASSIGN_ON_SUBMIT = "assign-on-submit"  # the submit update picks the evaluator (was: the run loop, after)
# Search attributes are upserted only where they differ from what the workflow holds (was: the
# start's values written again by the first task, and every value at each change). Implies
# ASSIGN_ON_SUBMIT, so a new workflow records one patch marker and one TemporalChangeVersion.
UPSERT_CHANGES_ONLY = "upsert-changes-only"
# A resubmission paid once its deadline has passed is refunded (was: fulfilled, then expired
# unrefunded). Asked only on that path, so other histories record no marker.
REFUND_AFTER_DEADLINE = "refund-after-deadline"
# Each evaluator of a review gets their own reminder, and none once the review is overdue (was:
# one reminder per attempt, whoever held the review, even after its due date). Asked only on a
# reassignment after a reminder, or a reminder falling due after the review's due date, so a
# lifecycle without either records no marker.
REMIND_EACH_EVALUATOR = "remind-each-evaluator"
# The run ends only once no handler runs and their notices are out (was: right after the last
# flush, cutting off a handler that started during it). Asked only in that race.
FINISH_HANDLERS = "finish-handlers"
# A checkout that cannot bring a usable payment is closed (was: left to lapse). When its window
# passes, the session is closed at the provider first, and a payment made in its last moments
# (its webhook still on its way) is used, not refunded after a cancellation. A payment of another
# amount than asked is refunded at once, and the checkout it paid ends (was: kept for the
# admins, and never refunded once the window had passed). Asked only on those two paths.
CLOSE_CHECKOUTS = "close-checkouts"
# A checkout completed with a payment method that confirms days later (a bank debit) is held,
# for up to PROCESSING_HOLD, until that payment confirms or fails (was: ended when its window
# passed, and the payment refunded once it confirmed). Asked only on that path.
HOLD_PROCESSING = "hold-processing-payments"
# SEPA debits confirm within 14 business days (ACH, Bacs and BECS within a few); the webhook
# ends the hold as soon as Stripe says how the debit went.
PROCESSING_HOLD = timedelta(days=21)
# A full refund made at the provider (Stripe's dashboard) of a payment the enrolment used is
# told to the admins (was: a signal without a handler). Patched although the handler is new: a
# worker of the previous release that received the signal dropped it, so the history holds a
# signal that must replay to no commands. Asked only in that handler.
ALERT_REFUNDS_ELSEWHERE = "alert-refunds-elsewhere"
# Activities retry until they succeed (a database or Stripe outage only delays the lifecycle);
# business failures are raised as non-retryable ApplicationErrors by the activities themselves.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


# Business counters, exported with the SDK's metrics by the worker's runtime (replay-safe).
COUNTERS: dict[EventKind, tuple[str, str]] = {
    EventKind.PAYMENT_CONFIRMED: ("microcred_purchases", "Purchases paid, first and resubmission."),
    EventKind.ATTEMPT_STARTED: ("microcred_purchases", "Purchases paid, first and resubmission."),
    EventKind.SUBMITTED: ("microcred_submissions", "Attempts submitted for review."),
    EventKind.DECIDED: ("microcred_decisions", "Review decisions, by outcome."),
    EventKind.EXPIRED: ("microcred_expiries", "Enrolments whose submission window ran out."),
    EventKind.REVIEW_OVERDUE: ("microcred_review_sla_breaches", "Reviews past their due date."),
    EventKind.BADGE_ISSUED: ("microcred_badges_issued", "Badges issued."),
    EventKind.CANCELLED: ("microcred_cancellations", "Enrolments cancelled."),
    EventKind.PAYMENT_REFUNDED: ("microcred_refunds", "Payments refunded by the workflow."),
}


def _rejection(error: MicrocredError) -> ApplicationError:
    """A domain error as the ApplicationError that fails one update (and never the workflow)."""
    return ApplicationError(error.message, error.extra, type=type(error).__name__, non_retryable=True)


async def _rejecting(call: Awaitable[T]) -> T:
    """Await an activity whose business rejection (a non-retryable ApplicationError) must fail
    the calling update with the same error, rather than the activity error that wraps it."""
    try:
        return await call
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            raise ApplicationError(
                cause.message, *cause.details, type=cause.type, non_retryable=True
            ) from None
        raise


@workflow.defn
class EnrolmentWorkflow:
    @workflow.init
    def __init__(self, inp: EnrolmentInput) -> None:
        self._id = inp.enrolment_id
        self._member = inp.member_id
        self._credential: CredentialOutline = inp.credential
        self._s: EnrolmentState = inp.state.model_copy(deep=True) if inp.state else EnrolmentState()
        self._lock = asyncio.Lock()
        self._changes = 0  # bumped on every change, so the run loop re-plans its sleep
        self._run_first_attempt = self._s.attempt
        self._published: tuple[Any, ...] | None = None  # before UPSERT_CHANGES_ONLY: what was upserted
        # Decided here, before any message handler can publish or submit.
        self._changes_only = workflow.patched(UPSERT_CHANGES_ONLY)

    # --- the run loop -----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        if inp.state is None:
            self._s.enrolled_at = workflow.now()
        self._publish()
        while True:
            async with self._lock:
                await self._catch_up()
                seen = self._changes
                # Decided under the lock, right after the duties: a decision that lands while
                # the notices go out must still get its duties (the badge) on the next round.
                finished = self._s.status.terminal
            # Notices go out without the lock, so a member's or an evaluator's message never
            # waits behind them; a change made meanwhile wakes the loop at once (``seen``).
            await self._flush_outbox()
            if finished:
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    EnrolmentInput(
                        enrolment_id=self._id,
                        member_id=self._member,
                        credential=self._credential,
                        state=self._s,
                    )
                )
            await self._sleep_until_next_alarm(seen)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush_outbox()
        # A message handled while the last notices go out (a late payment to refund) finishes,
        # and its notices go out, before the run ends (patched: asked only in that race).
        while not workflow.all_handlers_finished() and workflow.patched(FINISH_HANDLERS):
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._flush_outbox()
        return EnrolmentResult(status=self._s.status, attempt=self._s.attempt, badge_id=self._s.badge_id)

    def _should_continue_as_new(self) -> bool:
        # A new attempt starts a fresh history; the state travels whole.
        if self._s.outbox:
            return False
        new_attempt = self._s.attempt > self._run_first_attempt and self._s.status is Status.IN_PROGRESS
        return new_attempt or workflow.info().is_continue_as_new_suggested()

    async def _sleep_until_next_alarm(self, seen: int) -> None:
        alarm = self._next_alarm()
        if alarm is None:
            await workflow.wait_condition(lambda: self._changes != seen)
            return
        at, label = alarm
        delay = at - workflow.now()
        if delay <= timedelta(0):
            return
        # A timeout means the alarm rang: _catch_up acts on it.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._changes != seen, timeout=delay, timeout_summary=label)

    def _alarms(self) -> list[tuple[datetime, str]]:
        """Every moment at which a duty falls due, with what it is for."""
        s, found = self._s, []
        if s.checkout is not None and s.status in (
            Status.AWAITING_PAYMENT,
            Status.AWAITING_RESUBMISSION_PAYMENT,
        ):
            label = "checkout expires" if s.checkout.held_until is None else "held checkout ends"
            found.append((s.checkout.ends_at, label))
        if s.status.member_holds_work and s.due_at is not None:
            found.append((s.due_at, "submission deadline"))
            for offset in self._credential.policies.reminders_before_due:
                if offset not in s.reminders_sent:
                    found.append(
                        (policies.subtract(s.due_at, offset), f"member reminder {offset} before due")
                    )
        if s.status is Status.UNDER_REVIEW and s.review_due_at is not None:
            if not s.review_overdue:
                found.append((s.review_due_at, "review due"))
            if s.evaluator_id is not None and not s.evaluator_reminded:
                before = self._credential.policies.evaluator_reminder_before
                found.append((policies.subtract(s.review_due_at, before), "evaluator reminder"))
        return found

    def _next_alarm(self) -> tuple[datetime, str] | None:
        alarms = self._alarms()
        return min(alarms, key=lambda a: a[0]) if alarms else None

    async def _catch_up(self) -> None:
        """Perform every duty that is due now, in lifecycle order."""
        s, now = self._s, workflow.now()
        if s.status in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT):
            if s.checkout is None:
                await self._open_checkout()
            elif now >= s.checkout.ends_at:
                await self._checkout_window_passed(s.checkout)
        if s.status.member_holds_work and s.due_at is not None:
            if now >= s.due_at:
                await self._expire()
            else:
                await self._send_due_reminders(now)
        if self._credential.community_id and s.purchased_at and not s.community_granted:
            await self._grant_community()
        if s.status is Status.UNDER_REVIEW:
            await self._review_duties(now)
        if s.status is Status.APPROVED and s.badge_id is None:
            await self._issue_badge()

    # --- persistence and visibility ---------------------------------------------------------

    def _view(self, s: EnrolmentState | None = None) -> EnrolmentView:
        s = s or self._s
        paying = s.status in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT)
        return EnrolmentView(
            enrolment_id=self._id,
            seq=s.seq,
            status=s.status,
            attempt=s.attempt,
            purchased_at=s.purchased_at,
            due_at=s.due_at,
            submitted_at=s.submitted_at,
            review_due_at=s.review_due_at,
            decision=s.decision,
            evaluator_id=s.evaluator_id,
            review_overdue=s.review_overdue,
            checkout_session_id=s.checkout.session_id if paying and s.checkout else None,
            checkout_url=self._payable_url(s) if paying else None,
            badge_id=s.badge_id,
            editable_sections=None if s.attempt == 1 else list(s.unmet_sections),
        )

    def _event(self, kind: EventKind, actor: str | None, /, **detail: Any) -> TimelineEvent:
        return TimelineEvent(kind=kind, at=workflow.now(), actor=actor or SYSTEM, detail=detail)

    async def _record(self, kind: EventKind, /, actor: str | None = None, **detail: Any) -> None:
        """Write the read model and one timeline event for the state as it is now."""
        await self._record_event(self._event(kind, actor, **detail))

    async def _record_event(self, event: TimelineEvent) -> None:
        self._s.seq += 1
        await workflow.execute_activity_method(
            StoreActivities.record,
            RecordInput(view=self._view(), event=event),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
            summary=f"record {event.kind.value}",
        )
        self._observe(event)
        self._changed()

    def _observe(self, event: TimelineEvent) -> None:
        """Log a recorded transition and count it (neither happens again on replay)."""
        s = self._s
        workflow.logger.info(
            "enrolment %s: %s",
            self._id,
            event.kind.value,
            extra={
                "enrolment_id": self._id,
                "event": event.kind.value,
                "status": s.status.value,
                "attempt": s.attempt,
                "actor": event.actor,
            },
        )
        counter = COUNTERS.get(event.kind)
        if counter is not None:
            labels = {"credential_id": self._credential.id}
            for key in ("kind", "outcome"):
                if key in event.detail:
                    labels[key] = str(event.detail[key])
            workflow.metric_meter().create_counter(*counter).add(1, labels)

    def _changed(self) -> None:
        self._changes += 1
        self._publish()

    def _publish(self) -> None:
        """Keep the search attributes and the UI's current details in step with the state.

        Each upsert is a visibility write on the server, so only the values that differ from
        what the workflow holds (the start's, a previous run's, the last upsert's) are sent.
        """
        s = self._s
        wanted: list[SearchAttributeUpdate[Any]] = [
            temporal_names.ENROLMENT_STATUS.value_set(s.status.value),
            temporal_names.MEMBER_ID.value_set(self._member),
            temporal_names.CREDENTIAL_ID.value_set(self._credential.id),
            temporal_names.REVIEW_OVERDUE.value_set(s.review_overdue),
            temporal_names.DUE_AT.value_set(s.due_at) if s.due_at else temporal_names.DUE_AT.value_unset(),
            temporal_names.REVIEW_DUE_AT.value_set(s.review_due_at)
            if s.review_due_at and s.status is Status.UNDER_REVIEW
            else temporal_names.REVIEW_DUE_AT.value_unset(),
            temporal_names.EVALUATOR_ID.value_set(s.evaluator_id)
            if s.evaluator_id
            else temporal_names.EVALUATOR_ID.value_unset(),
        ]
        if self._changes_only:
            held = workflow.info().typed_search_attributes
            changed = [u for u in wanted if held.get(u.key) != u.value]
        else:  # a run from before UPSERT_CHANGES_ONLY: all of them whenever these changed
            published = (s.status, s.due_at, s.review_due_at, s.evaluator_id, s.review_overdue)
            changed = wanted if published != self._published else []
            self._published = published
        if changed:
            workflow.upsert_search_attributes(changed)
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        s = self._s
        when = "%Y-%m-%d %H:%M UTC"
        lines = [
            f"**{s.status.value}** · {self._credential.title} · attempt {s.attempt} · member `{self._member}`"
        ]
        waits = {
            Status.AWAITING_PAYMENT: "Waiting for the member to pay the checkout",
            Status.IN_PROGRESS: "Waiting for the member to submit",
            Status.UNDER_REVIEW: "Waiting for the evaluator's decision",
            Status.RESUBMISSION_REQUESTED: "Waiting for the member to start the resubmission",
            Status.AWAITING_RESUBMISSION_PAYMENT: "Waiting for the resubmission payment",
        }
        if s.status in waits:
            lines.append(waits[s.status] + ".")
        if s.status is Status.UNDER_REVIEW:
            who = f"`{s.evaluator_id}`" if s.evaluator_id else "nobody yet (claimable)"
            overdue = " **OVERDUE**" if s.review_overdue else ""
            if s.review_due_at:
                lines.append(f"Assigned to {who}; review due {s.review_due_at:{when}}{overdue}.")
        if s.due_at is not None and not s.status.terminal:
            lines.append(f"Submission deadline {s.due_at:{when}} (time under review is added).")
        alarm = self._next_alarm()
        if alarm is not None:
            lines.append(f"Next: {alarm[1]} at {alarm[0]:{when}}.")
        if s.status.terminal:
            lines.append("Finished." + (f" Badge `{s.badge_id}`." if s.badge_id else ""))
        return "\n\n".join(lines)

    def _alert_admins(self, key: str, *, subject: str, message: str) -> None:
        """Queue an operator alert: something the admins must look at or do by hand."""
        self._notice(
            NotificationKind.OPERATOR_ALERT, Audience.ADMINS, None, key, subject=subject, message=message
        )

    def _notice(
        self,
        kind: NotificationKind,
        audience: Audience,
        recipient_id: str | None,
        key: str,
        /,
        **context: Any,
    ) -> None:
        """Queue a notification; the run loop sends it (never holding up a message's answer)."""
        self._s.outbox.append(
            NotifyInput(
                key=f"{self._id}:{key}",
                kind=kind,
                audience=audience,
                recipient_id=recipient_id,
                enrolment_id=self._id,
                at=workflow.now(),
                context={"credential_title": self._credential.title, "attempt": self._s.attempt, **context},
            )
        )

    async def _flush_outbox(self) -> None:
        """Record the queued notices in order (handlers may queue more meanwhile)."""
        while self._s.outbox:
            notice = self._s.outbox[0]
            await workflow.execute_activity_method(
                NotificationActivities.notify,
                notice,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=RETRY,
                summary=f"notify {notice.kind.value}",
            )
            self._s.outbox.pop(0)

    # --- payments ---------------------------------------------------------------------------

    async def _open_checkout(
        self, event: EventKind = EventKind.CHECKOUT_OPENED, actor: str | None = None
    ) -> None:
        s = self._s
        kind = PurchaseKind.PURCHASE if s.status is Status.AWAITING_PAYMENT else PurchaseKind.RESUBMISSION
        price = (
            self._credential.price if kind is PurchaseKind.PURCHASE else self._credential.resubmission_price
        )
        expires_at = policies.add(workflow.now(), self._credential.policies.payment_window)
        try:
            checkout = await self._create_checkout(kind, price, expires_at)
        except ActivityError as err:
            # Retries are over: the payment provider refused the request (a configuration error).
            # The member's purchase cannot proceed; admins are told what to fix.
            await self._checkout_unavailable(kind, err)
            return
        s.checkout = checkout
        await self._record(event, actor=actor, kind=kind.value, checkout_session_id=checkout.session_id)

    async def _create_checkout(self, kind: PurchaseKind, price: Money, expires_at: datetime) -> Checkout:
        s = self._s
        attempt = s.attempt if kind is PurchaseKind.PURCHASE else s.attempt + 1  # the attempt paid for
        s.checkouts_opened += 1
        # The key is the purchase's business identity. A resubmission checkout that ended unpaid
        # can be reopened: that one gets a key of its own (the old key would give back the ended
        # session, or be refused by Stripe for its new expiry).
        key = f"enrolment:{self._id}:{kind.value}:{attempt}"
        if s.checkouts_opened > 1:
            key += f":{s.checkouts_opened}"
        return await workflow.execute_activity_method(
            PaymentActivities.create_checkout,
            CheckoutRequest(
                enrolment_id=self._id,
                member_id=self._member,
                credential_id=self._credential.id,
                title=self._credential.title,
                kind=kind,
                attempt=attempt,
                price=price,
                requested_at=workflow.now(),
                expires_at=expires_at,
                idempotency_key=key,
            ),
            start_to_close_timeout=REMOTE_TIMEOUT,
            retry_policy=RETRY,
            summary=f"open {kind.value} checkout",
        )

    async def _checkout_unavailable(self, kind: PurchaseKind, err: ActivityError) -> None:
        s = self._s
        reason = f"the payment provider refused to open a checkout: {err.cause or err}"
        self._alert_admins(
            f"checkout-failed:{kind.value}:{s.attempt}",
            subject=f"checkout failed for enrolment {self._id}",
            message=reason,
        )
        if s.status is Status.AWAITING_PAYMENT:
            s.status = Status.CANCELLED
            await self._record(EventKind.CANCELLED, reason=reason)
        else:
            s.status = Status.RESUBMISSION_REQUESTED
            await self._record(EventKind.CHECKOUT_ENDED, reason=reason)

    async def _end_checkout(self, reason: str) -> None:
        s = self._s
        assert s.checkout is not None
        ended = s.checkout.session_id
        s.checkout = None
        if s.status is Status.AWAITING_PAYMENT:
            s.status = Status.CANCELLED
            await self._record(EventKind.CANCELLED, reason=reason, checkout_session_id=ended)
            self._notice(
                NotificationKind.CANCELLED, Audience.MEMBER, self._member, "cancelled", reason=reason
            )
        else:
            s.status = Status.RESUBMISSION_REQUESTED
            await self._record(EventKind.CHECKOUT_ENDED, reason=reason, checkout_session_id=ended)

    async def _checkout_window_passed(self, checkout: Checkout) -> None:
        """Close the checkout at the provider first: a payment made in its last moments is used
        (one of the wrong amount refunded); otherwise the purchase ends unpaid."""
        reason = "the payment window passed without payment"
        if not workflow.patched(CLOSE_CHECKOUTS):
            await self._end_checkout(reason)
            return
        closed = await self._close(checkout)
        if checkout.held_until is not None:  # the hold ends: a confirmation found now is used
            reason = "the payment did not confirm in time; it is refunded if it confirms later"
        elif closed.processing and workflow.patched(HOLD_PROCESSING):
            # Its result comes by the webhook: a payment_confirmed, or a checkout_ended.
            held_until = workflow.now() + PROCESSING_HOLD
            self._s.checkout = checkout.model_copy(update={"held_until": held_until})
            await self._record(
                EventKind.PAYMENT_PROCESSING,
                checkout_session_id=checkout.session_id,
                held_until=held_until.isoformat(),
            )
            self._notice(
                NotificationKind.PAYMENT_PROCESSING,
                Audience.MEMBER,
                self._member,
                f"processing:{checkout.session_id}",
                held_until=held_until.isoformat(),
            )
            return
        paid = closed.paid
        if paid is not None and self._settle(paid):
            if closed.matches:
                await self._apply_payment(paid)  # refunded if the submission deadline has passed
                reason = "the payment came after the submission deadline and is refunded"
            else:
                await self._refuse_payment(paid)
        if self._s.checkout is not None:
            await self._end_checkout(reason)

    async def _close_on_ending(self, reason: str) -> None:
        """The enrolment ends (cancelled, expired) with a checkout open: it is closed at the
        provider, so nobody pays it afterwards, and a payment made meanwhile is refunded."""
        checkout = self._s.checkout
        if checkout is None or not workflow.patched(CLOSE_CHECKOUTS):
            return
        closed = await self._close(checkout)
        if closed.paid is not None and self._settle(closed.paid):
            await self._refund(closed.paid, reason=reason)

    async def _close(self, checkout: Checkout) -> ClosedCheckout:
        """Close ``checkout`` at the provider and learn whether it was paid first."""
        try:
            closed: ClosedCheckout = await workflow.execute_activity_method(
                PaymentActivities.close_checkout,
                CloseCheckoutRequest(enrolment_id=self._id, checkout_session_id=checkout.session_id),
                start_to_close_timeout=REMOTE_TIMEOUT,
                # Retried for a while only: it holds the enrolment's lock (a provider outage
                # must not hold up an admin's repair for hours).
                schedule_to_close_timeout=CLOSE_TIMEOUT,
                retry_policy=RETRY,
                summary="close the checkout",
            )
        except ActivityError as err:
            # The provider refused (a configuration error) or stayed unreachable: a payment
            # made at the last moment is refunded when its webhook comes.
            self._alert_admins(
                f"close-failed:{checkout.session_id}",
                subject=f"could not close the checkout of enrolment {self._id}",
                message=f"the payment provider did not close checkout session {checkout.session_id} "
                f"({err.cause or err}); it is treated as unpaid, and a payment made at the last "
                "moment is refunded when its webhook arrives",
            )
            return ClosedCheckout()
        return closed

    @workflow.signal(description="A checkout session was paid (from the payment webhook).")
    async def payment_confirmed(self, payment: PaymentConfirmed) -> None:
        async with self._lock:
            if self._settle(payment):
                await self._apply_payment(payment)

    async def _apply_payment(self, payment: PaymentConfirmed) -> None:
        """Fulfil the open checkout that ``payment`` paid; refund a payment nothing can use."""
        s, current = self._s, self._s.checkout
        awaiting = s.status in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT)
        if not awaiting or current is None or current.session_id != payment.checkout_session_id:
            await self._refund(payment, reason=f"payment arrived while the enrolment was {s.status.value}")
            return
        # The payment and the deadline can reach the workflow together (after a worker
        # outage, say), and messages are handled first: the attempt bought could never be
        # worked on, the enrolment expires next.
        past_due = s.due_at is not None and workflow.now() >= s.due_at
        if past_due and workflow.patched(REFUND_AFTER_DEADLINE):
            await self._refund(payment, reason="payment arrived after the submission deadline")
            return
        await self._fulfil(current, payment)

    @workflow.signal(description="A checkout session was paid another amount than asked (from the webhook).")
    async def payment_mismatched(self, payment: PaymentConfirmed) -> None:
        """Never applied: refunded, and the admins are told."""
        async with self._lock:
            if not self._settle(payment):
                return
            if workflow.patched(CLOSE_CHECKOUTS):
                await self._refuse_payment(payment)
            else:
                self._alert_mismatch(payment, "refund it, or settle the difference with the member")
            self._changed()

    async def _refuse_payment(self, payment: PaymentConfirmed) -> None:
        """A payment of another amount than asked: the admins are told, it is refunded, and the
        checkout it paid, which cannot be paid again, ends with it."""
        self._alert_mismatch(payment, "it is refunded")
        reason = "the payment was not the price asked"
        await self._refund(payment, reason=reason)
        if self._s.checkout is not None and self._s.checkout.session_id == payment.checkout_session_id:
            await self._end_checkout(f"{reason}; it is refunded")

    def _alert_mismatch(self, payment: PaymentConfirmed, done: str) -> None:
        self._alert_admins(
            f"mismatch:{payment.checkout_session_id}",
            subject=f"payment of the wrong amount for enrolment {self._id}",
            message=f"checkout session {payment.checkout_session_id} was paid {payment.amount} "
            f"{payment.currency}, not the price asked, and was not applied: {done}",
        )

    def _settle(self, payment: PaymentConfirmed) -> bool:
        """Note the session as settled; False when it was already (a replayed or duplicated
        event, which changes nothing)."""
        settled = self._s.settled_sessions
        if payment.checkout_session_id in settled:
            return False
        settled.append(payment.checkout_session_id)
        return True

    @workflow.signal(description="A paid checkout was refunded in full outside microcred (from the webhook).")
    async def payment_refunded_elsewhere(self, refunded: RefundedElsewhere) -> None:
        """The admins decide what the refund meant: the enrolment goes on until one cancels it."""
        async with self._lock:
            s = self._s
            used = {p.checkout_session_id for p in s.paid_payments}
            if s.status.terminal or refunded.checkout_session_id not in used:
                return  # our own refund (a cancellation's), or a payment nothing used
            if not workflow.patched(ALERT_REFUNDS_ELSEWHERE):
                return
            self._alert_admins(
                f"refunded-elsewhere:{refunded.checkout_session_id}",
                subject=f"enrolment {self._id} was refunded outside microcred",
                message=f"checkout session {refunded.checkout_session_id}, which paid this enrolment, "
                f"was refunded in full at the payment provider, and the enrolment is still "
                f"{s.status.value}; if the refund was meant to end it, cancel it: "
                f"POST /api/v1/admin/enrolments/{self._id}/cancellation",
            )
            self._changed()

    @workflow.signal(description="A checkout session can no longer be paid (expired or failed).")
    async def checkout_ended(self, ended: CheckoutEnded) -> None:
        async with self._lock:
            s = self._s
            if s.checkout is None or s.checkout.session_id != ended.checkout_session_id:
                return
            if s.status in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT):
                await self._end_checkout(ended.reason)

    async def _fulfil(self, checkout: Checkout, payment: PaymentConfirmed) -> None:
        s, now = self._s, workflow.now()
        s.checkout = None
        s.paid_payments.append(payment)
        paid = {
            "amount": payment.amount,
            "currency": payment.currency,
            "checkout_session_id": payment.checkout_session_id,
        }
        if checkout.kind is PurchaseKind.PURCHASE:
            s.checkouts_opened = 0
            s.purchased_at = now
            s.base_due_at = policies.add(now, self._credential.policies.submission_window)
            s.status = Status.IN_PROGRESS
            await self._record(
                EventKind.PAYMENT_CONFIRMED, actor=self._member, kind=checkout.kind.value, **paid
            )
        else:
            s.attempt += 1
            s.checkouts_opened = 0
            s.status = Status.IN_PROGRESS
            s.submitted_at = s.review_due_at = s.evaluator_id = None
            s.past_evaluator_ids, s.review_overdue, s.evaluator_reminded = [], False, False
            await self._record(
                EventKind.ATTEMPT_STARTED, actor=self._member, kind=checkout.kind.value, **paid
            )
        self._notice(
            NotificationKind.PURCHASE_RECEIPT,
            Audience.MEMBER,
            self._member,
            f"receipt:{payment.checkout_session_id}",
            kind=checkout.kind.value,
            amount=payment.amount,
            currency=payment.currency,
            due_at=s.due_at.isoformat() if s.due_at else None,
        )

    async def _refund(self, payment: PaymentConfirmed, reason: str) -> None:
        try:
            refunded = await workflow.execute_activity_method(
                PaymentActivities.refund,
                RefundRequest(
                    enrolment_id=self._id,
                    checkout_session_id=payment.checkout_session_id,
                    reason=reason,
                    idempotency_key=f"enrolment:{self._id}:refund:{payment.checkout_session_id}",
                ),
                start_to_close_timeout=REMOTE_TIMEOUT,
                retry_policy=RETRY,
                summary="refund a payment that cannot be used",
            )
        except ActivityError as err:
            # Retries are over: no payment of this session is on record, or the provider refused
            # the refund. The enrolment goes on (an error here would fail the whole workflow from
            # a signal handler); admins are told to refund by hand.
            self._alert_admins(
                f"refund-failed:{payment.checkout_session_id}",
                subject=f"refund failed for enrolment {self._id}",
                message=f"could not refund checkout session {payment.checkout_session_id} "
                f"({payment.amount} {payment.currency}, {reason}): {err.cause or err}",
            )
        else:
            # The refund activity records it in the timeline itself (a closed enrolment has no workflow).
            self._observe(
                self._event(EventKind.PAYMENT_REFUNDED, None, checkout_session_id=payment.checkout_session_id)
            )
            self._notice(
                NotificationKind.PAYMENT_REFUNDED,
                Audience.MEMBER,
                self._member,
                f"refund:{payment.checkout_session_id}",
                # What was given back: less than was paid after a partial refund in the dashboard.
                amount=refunded.amount if refunded.amount is not None else payment.amount,
                currency=payment.currency,
                reason=reason,
            )
        self._changed()  # wake the run loop: it sends the notice now, not at the next alarm

    # --- the member's work ------------------------------------------------------------------

    async def _send_due_reminders(self, now: datetime) -> None:
        s = self._s
        assert s.due_at is not None
        due = [o for o in self._credential.policies.reminders_before_due if o not in s.reminders_sent]
        due = [o for o in due if now >= policies.subtract(s.due_at, o)]
        if not due:
            return
        # Several can fall due at once (a short window, a long review): send the nearest only.
        nearest = min(due, key=policies.approximate)
        s.reminders_sent.extend(due)
        await self._record(EventKind.REMINDER_SENT, before_due=nearest, due_at=s.due_at.isoformat())
        self._notice(
            NotificationKind.DUE_REMINDER,
            Audience.MEMBER,
            self._member,
            f"reminder:{s.attempt}:{nearest}:{s.due_at.isoformat()}",
            before_due=nearest,
            due_at=s.due_at.isoformat(),
            status=s.status.value,
        )

    async def _expire(self) -> None:
        s = self._s
        await self._close_on_ending("the submission deadline passed before the payment could be used")
        s.status, s.checkout = Status.EXPIRED, None
        await self._record(EventKind.EXPIRED, due_at=s.due_at.isoformat() if s.due_at else None)
        self._notice(NotificationKind.EXPIRED, Audience.MEMBER, self._member, "expired")

    @workflow.update(description="Return the open checkout (waits until the workflow has created it).")
    async def checkout(self) -> CheckoutInfo:
        await workflow.wait_condition(
            lambda: (
                self._s.checkout is not None
                or self._s.status not in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT)
            )
        )
        # The checkout is set before the run loop has recorded it; answer once the read model
        # shows it too (the loop holds the lock until then), as every lifecycle answer does.
        async with self._lock:
            return self._checkout_info()

    @checkout.validator
    def _validate_checkout(self) -> None:
        if self._s.status not in (Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT):
            raise _rejection(InvalidState("no checkout is open", status=self._s.status.value))

    @staticmethod
    def _payable_url(s: EnrolmentState) -> str | None:
        """The checkout page, while it can still be paid (not once a payment is processing)."""
        return s.checkout.url if s.checkout and s.checkout.held_until is None else None

    def _checkout_info(self) -> CheckoutInfo:
        s = self._s
        return CheckoutInfo(
            status=s.status,
            checkout_url=self._payable_url(s),
            checkout_session_id=s.checkout.session_id if s.checkout else None,
        )

    @workflow.update(description="Freeze the member's responses as this attempt's submission.")
    async def submit(self, request: SubmitRequest) -> SubmitResult:
        async with self._lock:
            self._check(rules.check_submit, self._s, request, self._credential, workflow.now())
            now = workflow.now()
            nxt = self._s.model_copy(deep=True)
            nxt.status = Status.UNDER_REVIEW
            nxt.submitted_at = now
            nxt.review_due_at = policies.add(now, self._credential.policies.review_window)
            nxt.decision = None if nxt.attempt == 1 else nxt.decision
            nxt.seq += 1
            required = [t for sec in self._credential.sections for t in sec.required_task_ids]
            submitted = self._event(EventKind.SUBMITTED, self._member, attempt=nxt.attempt)
            assignment: TimelineEvent | None = None
            if self._changes_only or workflow.patched(ASSIGN_ON_SUBMIT):
                # Picked first and stored with the submission in one transaction: the review
                # reaches the evaluators' queues assigned, never claimable for a moment first.
                nxt.evaluator_id = await self._assign(exclude=[])
                nxt.seq += 1
                assignment = self._assignment_event(nxt.evaluator_id)
            else:
                nxt.assignment_needed = True  # the run loop assigns it (see _review_duties)
            # The store checks again under its row lock (a response emptied since validation);
            # its rejection fails this update and leaves the state as it was.
            await _rejecting(
                workflow.execute_activity_method(
                    StoreActivities.freeze_submission,
                    FreezeInput(
                        view=self._view(nxt),
                        event=submitted,
                        required_task_ids=required,
                        assignment=assignment,
                    ),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=RETRY,
                    summary="freeze the submission",
                )
            )
            self._s = nxt
            self._observe(submitted)
            assert nxt.review_due_at is not None
            self._notice(
                NotificationKind.SUBMISSION_RECEIVED,
                Audience.MEMBER,
                self._member,
                f"submitted:{nxt.attempt}",
                review_due_at=nxt.review_due_at.isoformat(),
            )
            if assignment is not None:
                self._observe(assignment)
                self._tell_assignment()
            self._changed()
            return SubmitResult(
                status=nxt.status, attempt=nxt.attempt, submitted_at=now, review_due_at=nxt.review_due_at
            )

    @submit.validator
    def _validate_submit(self, request: SubmitRequest) -> None:
        self._check(rules.check_submit, self._s, request, self._credential, workflow.now())

    @workflow.update(description="Start a resubmission: opens the resubmission checkout.")
    async def start_resubmission(self) -> CheckoutInfo:
        async with self._lock:
            self._check(self._check_resubmission_start)
            if self._s.status is Status.AWAITING_RESUBMISSION_PAYMENT:
                return self._checkout_info()  # started already (a second click): its open checkout
            self._s.status = Status.AWAITING_RESUBMISSION_PAYMENT
            self._s.checkout = None
            await self._open_checkout(EventKind.RESUBMISSION_STARTED, actor=self._member)
            return self._checkout_info()

    @start_resubmission.validator
    def _validate_start_resubmission(self) -> None:
        self._check(self._check_resubmission_start)

    def _check_resubmission_start(self) -> None:
        if self._s.status is Status.AWAITING_RESUBMISSION_PAYMENT and self._s.checkout is not None:
            return
        rules.require_status(self._s, Status.RESUBMISSION_REQUESTED, action="start a resubmission")
        if self._s.due_at is not None and workflow.now() >= self._s.due_at:
            raise InvalidState("the submission deadline has passed", status=self._s.status.value)

    # --- review -----------------------------------------------------------------------------

    async def _assign(self, *, exclude: list[str], preferred: str | None = None) -> str | None:
        result = await workflow.execute_activity_method(
            StoreActivities.assign_evaluator,
            AssignInput(
                enrolment_id=self._id,
                attempt=self._s.attempt,
                credential_id=self._credential.id,
                member_id=self._member,
                exclude=exclude,
                preferred=preferred,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
            summary="pick an evaluator",
        )
        return result.evaluator_id

    def _assignment_event(self, evaluator_id: str | None) -> TimelineEvent:
        if evaluator_id is None:
            return self._event(EventKind.REVIEW_UNASSIGNED, None)
        return self._event(EventKind.EVALUATOR_ASSIGNED, None, evaluator_id=evaluator_id)

    def _tell_assignment(self) -> None:
        """Tell the assigned evaluator; with nobody eligible, tell the admins."""
        s = self._s
        if s.evaluator_id is not None:
            self._notify_assigned(s.evaluator_id)
        else:
            self._notice(NotificationKind.REVIEW_UNASSIGNED, Audience.ADMINS, None, f"unassigned:{s.attempt}")

    def _notify_assigned(self, evaluator_id: str) -> None:
        s = self._s
        assert s.review_due_at is not None
        self._notice(
            NotificationKind.EVALUATOR_ASSIGNED,
            Audience.EVALUATOR,
            evaluator_id,
            f"assigned:{s.attempt}:{evaluator_id}",
            review_due_at=s.review_due_at.isoformat(),
        )

    async def _review_duties(self, now: datetime) -> None:
        s = self._s
        assert s.review_due_at is not None
        if s.assignment_needed:  # a submission made before the assign-on-submit patch
            s.assignment_needed = False
            s.evaluator_id = await self._assign(exclude=[])
            await self._record_event(self._assignment_event(s.evaluator_id))
            self._tell_assignment()
        before = self._credential.policies.evaluator_reminder_before
        if s.evaluator_id and not s.evaluator_reminded and now >= policies.subtract(s.review_due_at, before):
            s.evaluator_reminded = True
            # Past its due date the admins are told instead: a reminder would name a passed date.
            if not (now >= s.review_due_at and workflow.patched(REMIND_EACH_EVALUATOR)):
                await self._record(EventKind.EVALUATOR_REMINDED, evaluator_id=s.evaluator_id)
                self._notice(
                    NotificationKind.EVALUATOR_REMINDER,
                    Audience.EVALUATOR,
                    s.evaluator_id,
                    f"evaluator-reminder:{s.attempt}:{s.evaluator_id}",
                    review_due_at=s.review_due_at.isoformat(),
                )
        if not s.review_overdue and now >= s.review_due_at:
            s.review_overdue = True
            late = s.evaluator_id
            await self._record(EventKind.REVIEW_OVERDUE, evaluator_id=late)
            self._notice(
                NotificationKind.REVIEW_OVERDUE,
                Audience.ADMINS,
                None,
                f"overdue:{s.attempt}",
                evaluator_id=late,
                review_due_at=s.review_due_at.isoformat(),
            )
            # Another eligible evaluator takes it over (for an unassigned review: anyone who has
            # become eligible since it was submitted).
            await self._reassign(
                exclude=[e for e in (late, *s.past_evaluator_ids) if e is not None],
                preferred=None,
                actor=None,
                reason="review SLA breached",
            )

    async def _reassign(
        self, *, exclude: list[str], preferred: str | None, actor: str | None, reason: str
    ) -> bool:
        s = self._s
        chosen = await self._assign(exclude=exclude, preferred=preferred)
        if chosen is None or chosen == s.evaluator_id:
            return False
        previous = s.evaluator_id
        if previous is not None:
            s.past_evaluator_ids.append(previous)
        s.evaluator_id = chosen
        if s.evaluator_reminded and workflow.patched(REMIND_EACH_EVALUATOR):
            s.evaluator_reminded = False  # the reminder went to the previous evaluator
        await self._record(
            EventKind.REVIEW_REASSIGNED, actor=actor, evaluator_id=chosen, previous=previous, reason=reason
        )
        self._notify_assigned(chosen)
        return True

    @workflow.update(description="An eligible evaluator claims an unassigned review.")
    async def claim(self, request: ClaimRequest) -> EnrolmentView:
        async with self._lock:
            self._check(self._check_claim, request)
            chosen = await self._assign(exclude=[self._member], preferred=request.evaluator_id)
            if chosen != request.evaluator_id:
                raise _rejection(NotEligible("you are not registered to evaluate this credential"))
            self._s.evaluator_id = chosen
            self._s.assignment_needed = False
            await self._record(EventKind.REVIEW_CLAIMED, actor=chosen, evaluator_id=chosen)
            self._notify_assigned(chosen)
            return self._view()

    @claim.validator
    def _validate_claim(self, request: ClaimRequest) -> None:
        self._check(self._check_claim, request)

    def _check_claim(self, request: ClaimRequest) -> None:
        rules.require_status(self._s, Status.UNDER_REVIEW, action="claim the review")
        if request.evaluator_id == self._member:
            raise NotEligible("members never evaluate their own work")
        if self._s.evaluator_id is not None:
            raise AlreadyClaimed("this review is already assigned", evaluator_id=self._s.evaluator_id)

    @workflow.update(description="The assigned evaluator approves or requests a resubmission.")
    async def decide(self, request: DecisionRequest) -> DecisionResult:
        async with self._lock:
            self._check(rules.check_decision, self._s, request, self._credential)
            now = workflow.now()
            s = self._s
            assert s.submitted_at is not None
            s.review_time += now - s.submitted_at  # an evaluator's time never costs the member
            s.decision = request.outcome
            if request.outcome is Outcome.APPROVED:
                s.status = Status.APPROVED
            else:
                s.status = Status.RESUBMISSION_REQUESTED
                s.unmet_sections = rules.unmet_sections(self._credential, request)
            s.seq += 1
            marks = [
                MarkRecord(
                    criterion_id=m.criterion_id,
                    section_id=self._credential.section_of_criterion(m.criterion_id) or "",
                    met=m.met,
                    comment=m.comment,
                )
                for m in request.marks
            ]
            decided = self._event(
                EventKind.DECIDED, request.evaluator_id, outcome=request.outcome.value, attempt=s.attempt
            )
            await workflow.execute_activity_method(
                StoreActivities.record_decision,
                DecisionInput(
                    view=self._view(),
                    event=decided,
                    evaluator_id=request.evaluator_id,
                    outcome=request.outcome,
                    marks=marks,
                    feedback=request.feedback,
                ),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=RETRY,
                summary=f"record decision {request.outcome.value}",
            )
            self._observe(decided)
            self._notice(
                NotificationKind.DECISION,
                Audience.MEMBER,
                self._member,
                f"decision:{s.attempt}",
                outcome=request.outcome.value,
                due_at=s.due_at.isoformat() if s.due_at else None,
                unmet_sections=s.unmet_sections if request.outcome is Outcome.RESUBMIT else [],
            )
            self._changed()
            return DecisionResult(
                status=s.status, decision=request.outcome, attempt=s.attempt, due_at=s.due_at
            )

    @decide.validator
    def _validate_decide(self, request: DecisionRequest) -> None:
        self._check(rules.check_decision, self._s, request, self._credential)

    # --- approval ---------------------------------------------------------------------------

    async def _grant_community(self) -> None:
        assert self._credential.community_id is not None
        await workflow.execute_activity_method(
            StoreActivities.grant_community,
            CommunityInput(
                enrolment_id=self._id,
                member_id=self._member,
                community_id=self._credential.community_id,
                at=workflow.now(),
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
            summary="grant community access",
        )
        self._s.community_granted = True
        await self._record(EventKind.COMMUNITY_GRANTED, community_id=self._credential.community_id)

    async def _issue_badge(self) -> None:
        result = await workflow.execute_activity_method(
            BadgeActivities.issue_badge,
            BadgeInput(enrolment_id=self._id, attempt=self._s.attempt, at=workflow.now()),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=RETRY,
            summary="issue the badge",
        )
        self._s.badge_id = result.badge_id
        await self._record(EventKind.BADGE_ISSUED, badge_id=result.badge_id)
        self._notice(
            NotificationKind.BADGE_ISSUED, Audience.MEMBER, self._member, "badge", badge_id=result.badge_id
        )

    # --- operator repairs -------------------------------------------------------------------

    @workflow.update(description="Admin: move the submission deadline later, with a reason.")
    async def extend_deadline(self, request: ExtendDeadline) -> EnrolmentView:
        async with self._lock:
            self._check(self._check_extend, request)
            s = self._s
            assert s.due_at is not None
            before = s.due_at
            s.extension += policies.add(before, request.by) - before
            s.reminders_sent = []  # reminders count down to the new deadline
            assert s.due_at is not None
            await self._record(
                EventKind.DEADLINE_EXTENDED,
                actor=request.actor,
                reason=request.reason,
                by=request.by,
                previous_due_at=before.isoformat(),
                due_at=s.due_at.isoformat(),
            )
            self._notice(
                NotificationKind.DEADLINE_EXTENDED,
                Audience.MEMBER,
                self._member,
                f"extended:{s.seq}",
                due_at=s.due_at.isoformat(),
                reason=request.reason,
            )
            return self._view()

    @extend_deadline.validator
    def _validate_extend(self, request: ExtendDeadline) -> None:
        self._check(self._check_extend, request)
        self._check(self._check_extension_bounds, request)

    def _check_extend(self, request: ExtendDeadline) -> None:
        if self._s.status.terminal or self._s.due_at is None:
            raise InvalidState(
                "only a paid, unfinished enrolment has a deadline to extend", status=self._s.status.value
            )
        try:
            length = policies.approximate(request.by)
        except policies.InvalidDuration as exc:
            raise InvalidRequest(str(exc)) from exc
        if length <= timedelta(0):
            raise InvalidRequest("the extension must be longer than zero")

    def _check_extension_bounds(self, request: ExtendDeadline) -> None:
        """Checked before an extension is accepted only (validators never run on replay), so an
        extension accepted under the old rules still replays."""
        assert self._s.due_at is not None
        try:
            policies.check_bounded(request.by)
        except policies.InvalidDuration as exc:
            raise InvalidRequest(str(exc)) from exc
        try:
            # A century of calendar is left beyond it: time under review moves the deadline
            # later, and that must never pass the end of the calendar (the handler, or a later
            # task, would fail after accepting).
            policies.add(policies.add(self._s.due_at, request.by), policies.LONGEST)
        except (ValueError, OverflowError) as exc:
            raise InvalidRequest(
                f"the extended deadline would lie within {policies.LONGEST} of the year 9999"
            ) from exc

    @workflow.update(description="Admin: hand the open review to another eligible evaluator.")
    async def reassign_review(self, request: ReassignReview) -> EnrolmentView:
        async with self._lock:
            self._check(self._check_reassign, request)
            s = self._s
            exclude = [self._member] + ([s.evaluator_id] if s.evaluator_id else [])
            moved = await self._reassign(
                exclude=exclude, preferred=request.evaluator_id, actor=request.actor, reason=request.reason
            )
            if not moved:
                message = (
                    "no other eligible evaluator can take this review"
                    if request.evaluator_id is None
                    else f"evaluator {request.evaluator_id} cannot take this review: not registered for "
                    "this credential, the member themself, or already its evaluator"
                )
                raise _rejection(NotEligible(message, evaluator_id=request.evaluator_id))
            self._s.assignment_needed = False
            return self._view()

    @reassign_review.validator
    def _validate_reassign(self, request: ReassignReview) -> None:
        self._check(self._check_reassign, request)

    def _check_reassign(self, request: ReassignReview) -> None:
        rules.require_status(self._s, Status.UNDER_REVIEW, action="reassign the review")
        if request.evaluator_id is not None and request.evaluator_id == self._s.evaluator_id:
            raise InvalidState(
                "the review is already assigned to that evaluator", status=self._s.status.value
            )
        if request.evaluator_id == self._member:
            raise NotEligible("members never evaluate their own work")

    @workflow.update(description="Admin: cancel the enrolment, refunding when the policy says so.")
    async def cancel(self, request: CancelEnrolment) -> EnrolmentView:
        async with self._lock:
            self._check(self._check_cancel)
            s = self._s
            asked = request.refund if request.refund is not None else self._refund_policy()
            refund = self._last_paid_session() if asked else None  # nothing paid, nothing to refund
            await self._close_on_ending(f"cancelled by an admin: {request.reason}")
            s.status, s.checkout = Status.CANCELLED, None
            await self._record(
                EventKind.CANCELLED, actor=request.actor, reason=request.reason, refund=refund is not None
            )
            if refund is not None:
                await self._refund(refund, reason=f"cancelled by an admin: {request.reason}")
            self._notice(
                NotificationKind.CANCELLED, Audience.MEMBER, self._member, "cancelled", reason=request.reason
            )
            return self._view()

    @cancel.validator
    def _validate_cancel(self, request: CancelEnrolment) -> None:
        self._check(self._check_cancel)

    def _check_cancel(self) -> None:
        if self._s.status.terminal:
            raise InvalidState("the enrolment is already finished", status=self._s.status.value)

    def _refund_policy(self) -> bool:
        """Refund what the member paid for the current attempt unless it was already reviewed."""
        return (
            self._s.status in (Status.IN_PROGRESS, Status.UNDER_REVIEW)
            and self._last_paid_session() is not None
        )

    def _last_paid_session(self) -> PaymentConfirmed | None:
        s = self._s
        if not s.paid_payments:
            return None
        return s.paid_payments[-1]

    @workflow.update(description="Admin: send a recorded notification again.")
    async def resend_notification(self, request: ResendNotification) -> None:
        async with self._lock:
            await _rejecting(
                workflow.execute_activity_method(
                    NotificationActivities.resend,
                    ResendInput(enrolment_id=self._id, notification_id=request.notification_id),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=RETRY,
                    summary="re-send a notification",
                )
            )
            await self._record(
                EventKind.NOTIFICATION_RESENT,
                actor=request.actor,
                reason=request.reason,
                notification_id=request.notification_id,
            )

    # --- queries and helpers ----------------------------------------------------------------

    @workflow.query(description="The whole state of the enrolment, for operators.")
    def state(self) -> EnrolmentState:
        return self._s

    def _check(self, rule: Callable[..., None], *args: Any) -> None:
        try:
            rule(*args)
        except MicrocredError as error:
            raise _rejection(error) from None
