"""Every activity the workflows run, in one place: its name, typed input and result, timeouts,
retry policy and idempotency key.

Workflows reach activities by name (``microcred.temporal.names.Activity``), never by importing
their code. Every call is bounded: an activity retries (a database or Stripe hiccup only delays
a step) for at most its *patience*, then fails. The enrolment workflow calls them under its
lock, so its patience is short: an update then fails and changes nothing (the API answers 503),
and a duty of the run loop is tried again later, the admins alerted if it stays stuck
(``workflows/enrolment/workflow.py``). Business failures, and failures caused by the data an
activity was given, come back at once as non-retryable ``ApplicationError``s; the functions
marked *rejecting* turn the business ones into the failure of the update that called them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import (
        AssignInput,
        AssignResult,
        BadgeInput,
        BadgeResult,
        Checkout,
        CheckoutRequest,
        CloseCheckoutRequest,
        ClosedCheckout,
        CommunityInput,
        DecisionInput,
        FreezeInput,
        FreezeResult,
        MailInput,
        Money,
        NotifyInput,
        NotifyResult,
        PurchaseKind,
        RecordInput,
        RefundRequest,
        RefundResult,
        ResendInput,
        SweepInput,
        SweepResult,
    )
    from microcred.temporal.names import Activity

T = TypeVar("T")

DB = timedelta(seconds=30)
REMOTE = timedelta(minutes=2)
# How long, retries included, a call may take under the enrolment's lock: a database outage
# holds up the member's, the evaluator's and the admins' requests at most this long.
PATIENCE = timedelta(minutes=2)
# Calls to the payment provider under the lock (open, close, refund): a Stripe outage longer
# than this ends the step the way a refusal does (the admins are told what to do by hand).
REMOTE_PATIENCE = timedelta(minutes=10)
# Outside any enrolment's lock (a late payment's refund, mail): a day of retries.
LONG_PATIENCE = timedelta(days=1)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# A mail server that is down delays mail; after this long the delivery stops and says so.
MAIL_PATIENCE = timedelta(days=3)
MAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(hours=1))


async def _run(
    name: str,
    arg: Any,
    *,
    result: type[T],
    summary: str,
    start_to_close: timedelta = DB,
    patience: timedelta = PATIENCE,
    retry: RetryPolicy = RETRY,
) -> T:
    answer = await workflow.execute_activity(
        name,
        arg,
        result_type=result,
        start_to_close_timeout=start_to_close,
        schedule_to_close_timeout=patience,
        retry_policy=retry,
        summary=summary,
    )
    return cast(T, answer)  # decoded as ``result`` by the converter


async def _rejecting(name: str, arg: Any, *, result: type[T], summary: str) -> T:
    """Run an activity whose business rejection (a non-retryable ApplicationError) must fail the
    calling update with that same error, rather than with the activity error that wraps it."""
    try:
        return await _run(name, arg, result=result, summary=summary)
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            raise ApplicationError(
                cause.message, *cause.details, type=cause.type, non_retryable=True
            ) from None
        raise


async def sweep_uploads(inp: SweepInput) -> SweepResult:
    """Outside any enrolment: retried for as long as the sweep's own period (an hour)."""
    return await _run(
        Activity.SWEEP_UPLOADS,
        inp,
        result=SweepResult,
        summary="remove stale evidence uploads",
        start_to_close=timedelta(minutes=10),
        patience=timedelta(hours=1),
    )


# --- the store: the read model, the timeline, submissions, marks -------------------------------


async def record(inp: RecordInput) -> None:
    await _run(Activity.RECORD, inp, result=type(None), summary=f"record {inp.event.kind.value}")


async def freeze_submission(inp: FreezeInput) -> FreezeResult:
    """Rejecting: the store checks the required answers again under its row lock."""
    return await _rejecting(
        Activity.FREEZE_SUBMISSION, inp, result=FreezeResult, summary="freeze the submission"
    )


async def record_decision(inp: DecisionInput) -> None:
    await _run(
        Activity.RECORD_DECISION, inp, result=type(None), summary=f"record decision {inp.outcome.value}"
    )


async def assign_evaluator(inp: AssignInput) -> str | None:
    assigned = await _run(Activity.ASSIGN_EVALUATOR, inp, result=AssignResult, summary="pick an evaluator")
    return assigned.evaluator_id


async def grant_community(inp: CommunityInput) -> None:
    await _run(Activity.GRANT_COMMUNITY, inp, result=type(None), summary="grant community access")


# --- payments -----------------------------------------------------------------------------------


async def create_checkout(
    *,
    enrolment_id: str,
    member_id: str,
    credential_id: str,
    title: str,
    kind: PurchaseKind,
    attempt: int,
    opened_before: int,
    price: Money,
    expires_at: datetime,
) -> Checkout:
    """Open a checkout for ``attempt``'s purchase, keyed by that purchase: a retried activity,
    a crashed worker or a double click never opens a second session."""
    # A resubmission checkout that ended unpaid can be reopened: that one gets a key of its own
    # (the old key would give back the ended session, or be refused by Stripe for its expiry).
    key = f"enrolment:{enrolment_id}:{kind.value}:{attempt}"
    if opened_before:
        key += f":{opened_before + 1}"
    request = CheckoutRequest(
        enrolment_id=enrolment_id,
        member_id=member_id,
        credential_id=credential_id,
        title=title,
        kind=kind,
        attempt=attempt,
        price=price,
        requested_at=workflow.now(),
        expires_at=expires_at,
        idempotency_key=key,
    )
    return await _run(
        Activity.CREATE_CHECKOUT,
        request,
        result=Checkout,
        start_to_close=REMOTE,
        patience=REMOTE_PATIENCE,
        summary=f"open {kind.value} checkout",
    )


async def close_checkout(*, enrolment_id: str, checkout_session_id: str) -> ClosedCheckout:
    return await _run(
        Activity.CLOSE_CHECKOUT,
        CloseCheckoutRequest(enrolment_id=enrolment_id, checkout_session_id=checkout_session_id),
        result=ClosedCheckout,
        start_to_close=REMOTE,
        patience=REMOTE_PATIENCE,
        summary="close the checkout",
    )


async def refund(
    *,
    enrolment_id: str,
    checkout_session_id: str,
    reason: str,
    summary: str,
    patience: timedelta = REMOTE_PATIENCE,
) -> RefundResult:
    """Refund a checkout session's payment, at most once per session whoever asks."""
    request = RefundRequest(
        enrolment_id=enrolment_id,
        checkout_session_id=checkout_session_id,
        reason=reason,
        idempotency_key=f"enrolment:{enrolment_id}:refund:{checkout_session_id}",
    )
    return await _run(
        Activity.REFUND,
        request,
        result=RefundResult,
        start_to_close=REMOTE,
        patience=patience,
        summary=summary,
    )


# --- notifications, mail, badges ------------------------------------------------------------------


async def notify(notification: NotifyInput, *, patience: timedelta = PATIENCE) -> None:
    await _run(
        Activity.NOTIFY,
        notification,
        result=NotifyResult,
        patience=patience,
        summary=f"notify {notification.kind.value}",
    )


async def resend(inp: ResendInput) -> None:
    """Rejecting: an unknown notification fails the admin's update."""
    await _rejecting(Activity.RESEND, inp, result=NotifyResult, summary="re-send a notification")


async def send_mail(inp: MailInput) -> bool:
    return await _run(
        Activity.SEND_MAIL,
        inp,
        result=bool,
        start_to_close=timedelta(minutes=1),
        patience=MAIL_PATIENCE,
        retry=MAIL_RETRY,
        summary="send over SMTP",
    )


async def record_mail_sent(inp: MailInput) -> None:
    await _run(
        Activity.MAIL_SENT,
        inp,
        result=type(None),
        patience=LONG_PATIENCE,
        summary="record the mail as sent",
    )


async def give_up_mail(inp: MailInput) -> None:
    await _run(
        Activity.GIVE_UP_MAIL,
        inp,
        result=type(None),
        patience=LONG_PATIENCE,
        summary="record the mail failure",
    )


async def issue_badge(inp: BadgeInput) -> str:
    issued = await _run(Activity.ISSUE_BADGE, inp, result=BadgeResult, summary="issue the badge")
    return issued.badge_id
