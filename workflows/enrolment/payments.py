"""Payments of an enrolment: its checkouts, what each payment is used for, and refunds.

Every payment ends one way (``microcred.money``): it pays the open checkout, or it is refunded,
or (the refund refused) the admins are alerted to settle it by hand.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activities
from workflows.enrolment.context import Enrolment
from workflows.enrolment.visibility import checkout_info

with workflow.unsafe.imports_passed_through():
    from microcred import money, policies
    from microcred.contracts import (
        Arrival,
        ArrivalKind,
        Checkout,
        CheckoutInfo,
        ClosedCheckout,
        EventKind,
        NotificationKind,
        PaymentConfirmed,
        PurchaseKind,
    )
    from microcred.lifecycle import Status, Trigger
    from microcred.money import Use

# A checkout completed with a payment method that confirms days later (a bank debit) is held
# this long for the confirmation: SEPA debits confirm within 14 business days (ACH, Bacs and
# BECS within a few), and the webhook ends the hold as soon as Stripe says how the debit went.
PROCESSING_HOLD = timedelta(days=21)
WINDOW_PASSED = "the payment window passed without payment"


# --- checkouts ----------------------------------------------------------------------------------


async def open_checkout(
    e: Enrolment, event: EventKind = EventKind.CHECKOUT_OPENED, actor: str | None = None
) -> None:
    """Open the checkout of the purchase at hand: the first one, or a resubmission's."""
    s = e.state
    kind = PurchaseKind.PURCHASE if s.status is Status.AWAITING_PAYMENT else PurchaseKind.RESUBMISSION
    price = e.credential.price if kind is PurchaseKind.PURCHASE else e.credential.resubmission_price
    # Counted before the call: a request the provider refused keeps its key (Stripe replays its
    # answer to a key for a day), so the next checkout of this purchase needs another one.
    s.checkouts_opened += 1
    try:
        checkout = await activities.create_checkout(
            enrolment_id=e.id,
            member_id=e.member,
            credential_id=e.credential.id,
            title=e.credential.title,
            kind=kind,
            attempt=s.attempt if kind is PurchaseKind.PURCHASE else s.attempt + 1,  # the attempt paid for
            opened_before=s.checkouts_opened - 1,
            price=price,
            expires_at=policies.add(workflow.now(), e.credential.policies.payment_window),
        )
    except ActivityError as err:
        # Retries are over: the provider refused the request (a configuration error). The
        # purchase cannot proceed; the admins are told what to fix.
        reason = f"the payment provider refused to open a checkout: {err.cause or err}"
        e.alert_admins(
            f"checkout-failed:{kind.value}:{s.attempt}",
            subject=f"checkout failed for enrolment {e.id}",
            message=reason,
        )
        await _end(e, reason, tell_member=False)
        return
    s.checkout = checkout
    await e.record(event, actor=actor, kind=kind.value, checkout_session_id=checkout.session_id)


async def start_resubmission(e: Enrolment, _: None = None) -> CheckoutInfo:
    """The member starts the resubmission: its checkout opens (a second click changes nothing)."""
    if e.state.status is Status.RESUBMISSION_REQUESTED:
        e.move(Trigger.RESUBMISSION_STARTED)
        e.state.checkout = None
        await open_checkout(e, EventKind.RESUBMISSION_STARTED, actor=e.member)
    return checkout_info(e.state)


async def end_checkout(e: Enrolment, reason: str) -> None:
    """The open checkout can no longer be paid: the purchase ends unpaid."""
    assert e.state.checkout is not None
    ended = e.state.checkout.session_id
    e.state.checkout = None
    await _end(e, reason, checkout_session_id=ended)


async def _end(e: Enrolment, reason: str, *, tell_member: bool = True, **detail: str) -> None:
    first_purchase = e.state.status is Status.AWAITING_PAYMENT
    e.move(Trigger.CHECKOUT_ENDED)
    if first_purchase:  # nothing bought: the enrolment ends
        await e.record(EventKind.CANCELLED, reason=reason, **detail)
        if tell_member:
            e.tell_member(NotificationKind.CANCELLED, "cancelled", reason=reason)
    else:  # the resubmission was not bought: the member may start it again
        await e.record(EventKind.CHECKOUT_ENDED, reason=reason, **detail)


async def window_passed(e: Enrolment) -> None:
    """The checkout's window (or its hold) passed: close it at the provider first, so that a
    payment made in its last moments is used (one of the wrong amount refunded); otherwise the
    purchase ends unpaid."""
    checkout = e.state.checkout
    assert checkout is not None
    closed = await _close(e, checkout)
    reason = WINDOW_PASSED
    if checkout.held_until is not None:  # the hold ends: a confirmation found now is used
        reason = "the payment did not confirm in time; it is refunded if it confirms later"
    elif closed.processing:
        await _hold(e, checkout)  # its result comes by the webhook: paid, or the checkout ended
        return
    if closed.paid is not None:
        used = await take(e, closed.paid, matches=closed.matches)
        if used is Use.REFUND:
            reason = "the payment came after the submission deadline and is refunded"
    if e.state.checkout is not None:
        await end_checkout(e, reason)


async def _hold(e: Enrolment, checkout: Checkout) -> None:
    held_until = workflow.now() + PROCESSING_HOLD
    e.state.checkout = checkout.model_copy(update={"held_until": held_until})
    await e.record(
        EventKind.PAYMENT_PROCESSING,
        checkout_session_id=checkout.session_id,
        held_until=held_until.isoformat(),
    )
    e.tell_member(
        NotificationKind.PAYMENT_PROCESSING,
        f"processing:{checkout.session_id}",
        held_until=held_until.isoformat(),
    )


async def close_on_ending(e: Enrolment, reason: str) -> None:
    """The enrolment ends (cancelled, expired) with a checkout open: it is closed at the provider,
    so nobody pays it afterwards, and a payment made meanwhile is refunded."""
    checkout = e.state.checkout
    if checkout is None:
        return
    closed = await _close(e, checkout)
    if closed.paid is not None and money.settle(e.state, closed.paid.checkout_session_id):
        await refund(e, closed.paid, reason=reason)


async def _close(e: Enrolment, checkout: Checkout) -> ClosedCheckout:
    """Close ``checkout`` at the provider and learn whether it was paid first."""
    try:
        return await activities.close_checkout(enrolment_id=e.id, checkout_session_id=checkout.session_id)
    except ActivityError as err:
        # The provider refused (a configuration error) or stayed unreachable: a payment made at
        # the last moment is refunded when its webhook comes.
        e.alert_admins(
            f"close-failed:{checkout.session_id}",
            subject=f"could not close the checkout of enrolment {e.id}",
            message=f"the payment provider did not close checkout session {checkout.session_id} "
            f"({err.cause or err}); it is treated as unpaid, and a payment made at the last "
            "moment is refunded when its webhook arrives",
        )
        return ClosedCheckout()


# --- what the provider said (the signals' arrivals) -------------------------------------------


async def act_on(e: Enrolment, arrival: Arrival) -> None:
    """Act on one message from the payment provider, in the order they arrived."""
    s = e.state
    match arrival.kind:
        case ArrivalKind.PAID | ArrivalKind.MISMATCHED:
            assert arrival.payment is not None
            await take(e, arrival.payment, matches=arrival.kind is ArrivalKind.PAID)
        case ArrivalKind.REFUNDED_ELSEWHERE:
            used = {p.checkout_session_id for p in s.paid_payments}
            if not s.status.terminal and arrival.checkout_session_id in used:
                _alert_refunded_elsewhere(e, arrival.checkout_session_id)
        case ArrivalKind.CHECKOUT_ENDED:
            current = s.checkout
            if (
                current is not None
                and current.session_id == arrival.checkout_session_id
                and s.status.awaiting_payment
            ):
                await end_checkout(e, arrival.reason)


async def take(e: Enrolment, payment: PaymentConfirmed, *, matches: bool) -> Use:
    """Use ``payment`` as ``microcred.money`` says: pay the open checkout, or give it back."""
    verdict = money.use(e.state, payment, matches=matches, now=workflow.now())
    match verdict.use:
        case Use.FULFIL:
            await _fulfil(e, payment)
        case Use.REFUND:
            await refund(e, payment, reason=verdict.reason)
        case Use.REFUSE:
            await _refuse(e, payment, verdict.reason)
        case Use.HANDLED:
            pass
    return verdict.use


async def _fulfil(e: Enrolment, payment: PaymentConfirmed) -> None:
    s = e.state
    kind = money.fulfil(
        s, payment, now=workflow.now(), submission_window=e.credential.policies.submission_window
    )
    e.move(Trigger.PAID)
    paid = {
        "amount": payment.amount,
        "currency": payment.currency,
        "checkout_session_id": payment.checkout_session_id,
    }
    event = EventKind.PAYMENT_CONFIRMED if kind is PurchaseKind.PURCHASE else EventKind.ATTEMPT_STARTED
    await e.record(event, actor=e.member, kind=kind.value, **paid)
    e.tell_member(
        NotificationKind.PURCHASE_RECEIPT,
        f"receipt:{payment.checkout_session_id}",
        kind=kind.value,
        amount=payment.amount,
        currency=payment.currency,
        due_at=s.due_at.isoformat() if s.due_at else None,
    )


async def _refuse(e: Enrolment, payment: PaymentConfirmed, reason: str) -> None:
    """A payment of another amount than asked: the admins are told, it is refunded, and the
    checkout it paid, which cannot be paid again, ends with it."""
    e.alert_admins(
        f"mismatch:{payment.checkout_session_id}",
        subject=f"payment of the wrong amount for enrolment {e.id}",
        message=f"checkout session {payment.checkout_session_id} was paid {payment.amount} "
        f"{payment.currency}, not the price asked, and was not applied: it is refunded",
    )
    await refund(e, payment, reason=reason)
    if e.state.checkout is not None and e.state.checkout.session_id == payment.checkout_session_id:
        await end_checkout(e, f"{reason}; it is refunded")


def _alert_refunded_elsewhere(e: Enrolment, checkout_session_id: str) -> None:
    """The admins decide what a refund made at the provider meant: the enrolment goes on until
    one cancels it."""
    e.alert_admins(
        f"refunded-elsewhere:{checkout_session_id}",
        subject=f"enrolment {e.id} was refunded outside microcred",
        message=f"checkout session {checkout_session_id}, which paid this enrolment, was refunded in "
        f"full at the payment provider, and the enrolment is still {e.state.status.value}; if the "
        f"refund was meant to end it, cancel it: POST /api/v1/admin/enrolments/{e.id}/cancellation",
    )


async def refund(e: Enrolment, payment: PaymentConfirmed, reason: str) -> None:
    """Give a payment back; when the provider refuses for good, the admins refund by hand."""
    try:
        refunded = await activities.refund(
            enrolment_id=e.id,
            checkout_session_id=payment.checkout_session_id,
            reason=reason,
            summary="refund a payment that cannot be used",
        )
    except ActivityError as err:
        # No payment of this session is on record, or the provider refused the refund. The
        # enrolment goes on; the admins are told to refund by hand.
        e.alert_admins(
            f"refund-failed:{payment.checkout_session_id}",
            subject=f"refund failed for enrolment {e.id}",
            message=f"could not refund checkout session {payment.checkout_session_id} "
            f"({payment.amount} {payment.currency}, {reason}): {err.cause or err}",
        )
    else:
        # The refund activity writes the timeline itself (a closed enrolment has no workflow).
        e.observe(e.event(EventKind.PAYMENT_REFUNDED, None, checkout_session_id=payment.checkout_session_id))
        e.tell_member(
            NotificationKind.PAYMENT_REFUNDED,
            f"refund:{payment.checkout_session_id}",
            # What was given back: less than was paid after a partial refund in the dashboard.
            amount=refunded.amount if refunded.amount is not None else payment.amount,
            currency=payment.currency,
            reason=reason,
        )
    e.changed()  # wake the run loop: it sends the notification now, not at the next alarm
