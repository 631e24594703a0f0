"""What a payment is used for: pure rules that guarantee no money is lost.

Every payment that reaches an enrolment ends exactly one way: it pays the open checkout (and
moves the enrolment on), or it is refunded (and, when even the refund fails, the admins are
alerted to settle it by hand). A duplicate of a payment already handled changes nothing.
Pure: no Temporal, no I/O; the workflow acts on these answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from microcred import policies
from microcred.contracts import EnrolmentState, PaymentConfirmed, PurchaseKind
from microcred.lifecycle import Status


class Use(StrEnum):
    FULFIL = "fulfil"  # it pays the open checkout: the enrolment moves on (``fulfil``)
    REFUND = "refund"  # nothing can use it: it is given back
    REFUSE = "refuse"  # not the price asked: given back, the admins told, its checkout ended
    HANDLED = "handled"  # a duplicate of a payment already handled: nothing changes


@dataclass(frozen=True)
class Verdict:
    use: Use
    reason: str = ""


def settle(state: EnrolmentState, checkout_session_id: str) -> bool:
    """Note the session as handled; False when it was already (a replayed or duplicated event)."""
    if checkout_session_id in state.settled_sessions:
        return False
    state.settled_sessions.append(checkout_session_id)
    return True


def use(state: EnrolmentState, payment: PaymentConfirmed, *, matches: bool, now: datetime) -> Verdict:
    """What ``payment`` is used for, noting it handled: each payment gets one answer other than
    ``HANDLED``, the first time it reaches the enrolment. ``matches``: it paid the price asked."""
    if not settle(state, payment.checkout_session_id):
        return Verdict(Use.HANDLED)
    if not matches:
        return Verdict(Use.REFUSE, "the payment was not the price asked")
    return verdict(state, payment.checkout_session_id, now)


def verdict(state: EnrolmentState, checkout_session_id: str, now: datetime) -> Verdict:
    """What a payment of the price asked, for ``checkout_session_id``, is used for at ``now``."""
    s, current = state, state.checkout
    if not s.status.awaiting_payment or current is None or current.session_id != checkout_session_id:
        return Verdict(Use.REFUND, f"payment arrived while the enrolment was {s.status.value}")
    # The payment and the deadline can reach the workflow together (after a worker outage, say):
    # the attempt bought could never be worked on.
    if s.due_at is not None and now >= s.due_at:
        return Verdict(Use.REFUND, "payment arrived after the submission deadline")
    return Verdict(Use.FULFIL)


def fulfil(
    state: EnrolmentState, payment: PaymentConfirmed, *, now: datetime, submission_window: str
) -> PurchaseKind:
    """Record ``payment`` as paying the open checkout (after ``use`` said ``FULFIL``): the purchase
    starts the submission window, a resubmission the next attempt. The caller moves the status
    (``Trigger.PAID``)."""
    s, checkout = state, state.checkout
    assert checkout is not None and checkout.session_id == payment.checkout_session_id
    s.checkout = None
    s.checkouts_opened = 0
    s.paid_payments.append(payment)
    if checkout.kind is PurchaseKind.PURCHASE:
        s.purchased_at = now
        s.base_due_at = policies.add(now, submission_window)
    else:  # a new attempt: its review starts afresh
        s.attempt += 1
        s.submitted_at = s.review_due_at = s.evaluator_id = None
        s.past_evaluator_ids, s.review_overdue, s.evaluator_reminded = [], False, False
    return checkout.kind


def last_payment(state: EnrolmentState) -> PaymentConfirmed | None:
    """The payment the current attempt was bought with (the latest one used)."""
    return state.paid_payments[-1] if state.paid_payments else None


def refund_by_policy(state: EnrolmentState) -> bool:
    """A cancellation refunds the current attempt's payment unless its work was already reviewed."""
    return state.status in (Status.IN_PROGRESS, Status.UNDER_REVIEW) and last_payment(state) is not None
