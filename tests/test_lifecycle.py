"""The lifecycle state machine and the money rules, tested directly: no Temporal, no database.

The workflow changes an enrolment's status only through ``lifecycle.move`` and decides what each
payment is for only through ``money.use``; what holds here holds for every enrolment.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from microcred import lifecycle, money
from microcred.contracts import Checkout, EnrolmentState, Money, PaymentConfirmed, PurchaseKind
from microcred.lifecycle import TRANSITIONS, InvalidTransition, Status, Trigger
from microcred.money import Use

# --- the table -------------------------------------------------------------------------------


def test_every_status_has_a_row_and_every_move_leads_to_a_status() -> None:
    assert set(TRANSITIONS) == set(Status)
    for moves in TRANSITIONS.values():
        assert all(isinstance(target, Status) for target in moves.values())


def test_the_final_statuses_are_those_without_moves() -> None:
    assert {Status.APPROVED, Status.EXPIRED, Status.CANCELLED} == lifecycle.TERMINAL
    assert {s for s in Status if s.terminal} == lifecycle.TERMINAL
    assert {
        Status.IN_PROGRESS,
        Status.RESUBMISSION_REQUESTED,
        Status.AWAITING_RESUBMISSION_PAYMENT,
    } == lifecycle.MEMBER_HOLDS_WORK
    assert {Status.AWAITING_PAYMENT, Status.AWAITING_RESUBMISSION_PAYMENT} == lifecycle.AWAITING_PAYMENT


def test_move_refuses_every_pair_the_table_lacks() -> None:
    refused = 0
    for status, trigger in itertools.product(Status, Trigger):
        if trigger in TRANSITIONS[status]:
            assert lifecycle.can(status, trigger)
            assert lifecycle.move(status, trigger) is TRANSITIONS[status][trigger]
        else:
            refused += 1
            assert not lifecycle.can(status, trigger)
            with pytest.raises(
                InvalidTransition, match=f"{trigger.value} cannot happen while {status.value}"
            ):
                lifecycle.move(status, trigger)
    assert refused == len(Status) * len(Trigger) - sum(len(m) for m in TRANSITIONS.values())


def test_an_admin_can_cancel_every_enrolment_that_has_not_ended() -> None:
    for status in Status:
        assert lifecycle.can(status, Trigger.CANCELLED) is not status.terminal


def _reachable(start: Status) -> set[Status]:
    seen, queue = {start}, deque([start])
    while queue:
        for target in TRANSITIONS[queue.popleft()].values():
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_every_status_is_reachable_from_the_purchase_and_every_one_can_end() -> None:
    assert _reachable(Status.AWAITING_PAYMENT) == set(Status)
    for status in Status:
        assert _reachable(status) & lifecycle.TERMINAL, status


@given(st.lists(st.sampled_from(Trigger), max_size=60))
def test_random_triggers_never_reach_a_status_the_table_does_not_allow(triggers: list[Trigger]) -> None:
    status = Status.AWAITING_PAYMENT
    for trigger in triggers:
        if lifecycle.can(status, trigger):
            after = lifecycle.move(status, trigger)
            assert after in TRANSITIONS[status].values()
            status = after
        else:
            with pytest.raises(InvalidTransition):
                lifecycle.move(status, trigger)
        assert status in TRANSITIONS
    if status.terminal:
        assert all(not lifecycle.can(status, t) for t in Trigger)


# --- money: random lives of one enrolment ------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=UTC)
PRICE = Money(amount=4900, currency="usd")
WINDOW = "P10M"
PAYMENT_WINDOW = timedelta(days=7)
# The common path, step by step (the rules below, filled in after the class).
HEAD_START: list[Callable[[Enrolment], None]] = []
# What ends a life (a cancellation, a long wait) happens now and then, so that lives get long.
# (Hypothesis favours the ends of a range: 0 and 9 say no.)
NOW_AND_THEN = st.integers(min_value=0, max_value=9).map(lambda n: n in (4, 5))


class Enrolment(RuleBasedStateMachine):
    """One enrolment driven by random members, evaluators, admins, clocks and payment providers,
    through the same pure functions the workflow calls (``lifecycle.move``, ``money.use``,
    ``money.fulfil``, ``money.settle``, ``money.refund_by_policy``). Payments are made for any
    checkout ever opened (late, of the wrong amount), and their webhooks arrive in any order,
    delayed, duplicated. Each rule is enabled only when it can happen, so every step does
    something.

    The ledger follows every payment: its first arrival gets exactly one use, paid money is always
    either kept (paying the attempt worked on) or given back, never both, never neither, and the
    status only moves by the table."""

    @initialize(head_start=st.integers(min_value=0, max_value=len(HEAD_START)))
    def start(self, head_start: int) -> None:
        """A new enrolment, or one some way along the common path (so lives reach deep)."""
        self.state = EnrolmentState()
        self.now = START
        self.sessions: list[str] = []  # every checkout ever opened, oldest first
        self.paid: dict[str, int] = {}  # session -> amount paid at the provider
        self.uses: dict[str, list[Use]] = {}  # session -> the uses its arrivals got (one)
        self.kept: dict[str, int] = {}  # session -> amount that paid an attempt
        self.refunded: dict[str, int] = {}  # session -> amount given back
        self.resubmissions_bought = 0
        self._open_checkout()
        for step in HEAD_START[:head_start]:
            step(self)

    # --- the workflow's part -------------------------------------------------------------------

    def _move(self, trigger: Trigger) -> None:
        before = self.state.status
        self.state.status = lifecycle.move(before, trigger)
        assert self.state.status in TRANSITIONS[before].values()
        self._open_checkout()

    def _open_checkout(self) -> None:
        """Due as soon as a payment is awaited (the duty loop does it at once)."""
        s = self.state
        if not s.status.awaiting_payment or s.checkout is not None:
            return
        first = s.status is Status.AWAITING_PAYMENT
        s.checkout = Checkout(
            session_id=f"cs_{len(self.sessions)}",
            url="https://pay.example/checkout",
            kind=PurchaseKind.PURCHASE if first else PurchaseKind.RESUBMISSION,
            attempt=s.attempt if first else s.attempt + 1,
            amount=PRICE,
            expires_at=self.now + PAYMENT_WINDOW,
        )
        self.sessions.append(s.checkout.session_id)

    def _arrive(self, session: str) -> None:
        """A paid session's webhook reaches the enrolment: ``payments.take``."""
        amount = self.paid[session]
        payment = PaymentConfirmed(
            checkout_session_id=session, event_id=f"evt_{session}", amount=amount, currency="usd"
        )
        handled_before = session in self.state.settled_sessions
        checkout_before = self.state.checkout
        verdict = money.use(self.state, payment, matches=amount == PRICE.amount, now=self.now)
        self.uses.setdefault(session, []).append(verdict.use)
        if handled_before:
            assert verdict.use is Use.HANDLED
            return
        match verdict.use:
            case Use.FULFIL:
                assert checkout_before is not None and checkout_before.session_id == session
                assert self.state.due_at is None or self.now < self.state.due_at
                kind = money.fulfil(self.state, payment, now=self.now, submission_window=WINDOW)
                self.kept[session] = amount
                self.resubmissions_bought += kind is PurchaseKind.RESUBMISSION
                self._move(Trigger.PAID)
            case Use.REFUND | Use.REFUSE:
                assert verdict.reason
                assert (verdict.use is Use.REFUSE) == (amount != PRICE.amount)
                self.refunded[session] = amount
                current = self.state.checkout
                if verdict.use is Use.REFUSE and current is not None and current.session_id == session:
                    self.state.checkout = None  # a checkout paid the wrong amount ends with it
                    self._move(Trigger.CHECKOUT_ENDED)
            case Use.HANDLED:
                raise AssertionError(f"the first arrival of {session} was taken for a duplicate")

    def _end(self, trigger: Trigger, refund: bool | None = None) -> None:
        """Expiry or cancellation, as ``duties.expire`` and ``repairs.cancel`` do it."""
        s = self.state
        asked = trigger is Trigger.CANCELLED and (refund if refund is not None else money.refund_by_policy(s))
        last = money.last_payment(s) if asked else None
        # The open checkout is closed at the provider first: a payment made in its last moments
        # (its webhook still on the way) is found then, and given back.
        if s.checkout is not None and s.checkout.session_id in self.paid:
            session = s.checkout.session_id
            if money.settle(s, session):
                self.uses.setdefault(session, []).append(Use.REFUND)
                self.refunded[session] = self.paid[session]
        self._move(trigger)
        s.checkout = None
        if last is not None:
            self.refunded[last.checkout_session_id] = self.kept.pop(last.checkout_session_id)

    # --- what happens --------------------------------------------------------------------------

    @precondition(lambda self: self.state.checkout is not None)
    @rule(wrong_amount=NOW_AND_THEN, webhook_now=st.booleans())
    def the_member_pays_the_open_checkout(self, wrong_amount: bool, webhook_now: bool) -> None:
        assert self.state.checkout is not None
        session = self.state.checkout.session_id
        if session not in self.paid:
            self.paid[session] = PRICE.amount + 1 if wrong_amount else PRICE.amount
        if webhook_now:
            self._arrive(session)

    @precondition(lambda self: any(s not in self.paid for s in self.sessions[:-1]))
    @rule(which=st.integers(min_value=0))
    def the_member_pays_an_old_checkout(self, which: int) -> None:
        """A checkout that ended, paid in its last moments: its webhook comes late."""
        unpaid = [s for s in self.sessions[:-1] if s not in self.paid]
        session = unpaid[which % len(unpaid)]
        self.paid[session] = PRICE.amount
        self._arrive(session)

    @precondition(lambda self: self.paid)
    @rule(which=st.integers(min_value=0))
    def a_webhook_arrives(self, which: int) -> None:
        """Delayed, or again: Stripe retries and redelivers."""
        self._arrive(sorted(self.paid)[which % len(self.paid)])

    @precondition(lambda self: self.state.status is Status.IN_PROGRESS)
    @rule()
    def the_member_submits(self) -> None:
        self._move(Trigger.SUBMITTED)

    @precondition(lambda self: self.state.status is Status.UNDER_REVIEW)
    @rule(approved=st.booleans())
    def the_evaluator_decides(self, approved: bool) -> None:
        self._move(Trigger.APPROVED if approved else Trigger.RESUBMISSION_REQUESTED)

    @precondition(lambda self: self.state.status is Status.RESUBMISSION_REQUESTED)
    @rule()
    def the_member_starts_a_resubmission(self) -> None:
        self._move(Trigger.RESUBMISSION_STARTED)

    @rule(trigger=st.sampled_from(Trigger))
    def something_out_of_turn(self, trigger: Trigger) -> None:
        """A move the table lacks is refused and changes nothing."""
        before = self.state.model_copy(deep=True)
        if not lifecycle.can(self.state.status, trigger):
            with pytest.raises(InvalidTransition):
                lifecycle.move(self.state.status, trigger)
            assert self.state == before

    @rule(
        hours=st.integers(min_value=1, max_value=23),
        days=st.integers(min_value=1, max_value=400),
        long=NOW_AND_THEN,
    )
    def time_passes(self, hours: int, days: int, long: bool) -> None:
        """Hours (within a checkout's window), now and then days or months."""
        self.now += timedelta(days=days) if long else timedelta(hours=hours)
        checkout = self.state.checkout
        if checkout is not None and self.now >= checkout.expires_at:
            self._window_passed(checkout.session_id)

    def _window_passed(self, session: str) -> None:
        """``payments.window_passed``: closed at the provider, a payment found there is taken (as
        its webhook would be); otherwise the purchase ends unpaid."""
        if session in self.paid:
            self._arrive(session)
        if self.state.checkout is not None:
            self.state.checkout = None
            self._move(Trigger.CHECKOUT_ENDED)

    @precondition(
        lambda self: (
            self.state.status.member_holds_work
            and self.state.due_at is not None
            and self.now >= self.state.due_at
        )
    )
    @rule()
    def the_deadline_duty_runs(self) -> None:
        """After the deadline (webhooks may arrive between the two): the enrolment expires."""
        self._end(Trigger.DEADLINE_PASSED)

    @precondition(lambda self: not self.state.status.terminal)
    @rule(refund=st.sampled_from([None, True, False]), happens=NOW_AND_THEN)
    def an_admin_cancels(self, refund: bool | None, happens: bool) -> None:
        if not happens:
            return
        s = self.state
        last = s.paid_payments[-1].checkout_session_id if s.paid_payments else None
        # The policy, unless the admin chooses: the attempt's payment back unless its work was reviewed.
        by_policy = s.status in (Status.IN_PROGRESS, Status.UNDER_REVIEW)
        self._end(Trigger.CANCELLED, refund)
        if last is not None:
            assert (last in self.refunded) is (refund if refund is not None else by_policy)

    # --- what always holds ---------------------------------------------------------------------

    @invariant()
    def every_payment_handled_is_kept_or_given_back(self) -> None:
        for session in self.state.settled_sessions:
            assert [u for u in self.uses[session] if u is not Use.HANDLED] == self.uses[session][:1], session
            assert (session in self.kept) != (session in self.refunded), session
            assert self.kept.get(session, self.refunded.get(session)) == self.paid[session]
        in_flight = sum(a for session, a in self.paid.items() if session not in self.state.settled_sessions)
        assert sum(self.paid.values()) == sum(self.kept.values()) + sum(self.refunded.values()) + in_flight

    @invariant()
    def each_kept_payment_paid_one_attempt(self) -> None:
        s = self.state
        used = [p.checkout_session_id for p in s.paid_payments]
        assert len(used) == len(set(used))
        assert set(self.kept) <= set(used)
        assert s.attempt == 1 + self.resubmissions_bought
        if s.status in (Status.IN_PROGRESS, Status.UNDER_REVIEW, Status.APPROVED):
            assert s.paid_payments, "work goes on only once paid"

    def teardown(self) -> None:
        """Every webhook arrives in the end: then no payment is left unanswered."""
        if not hasattr(self, "state"):
            return
        for session in sorted(self.paid):
            self._arrive(session)
        assert set(self.state.settled_sessions) == set(self.paid)
        assert sum(self.paid.values()) == sum(self.kept.values()) + sum(self.refunded.values())


Enrolment.TestCase.settings = settings(max_examples=400, stateful_step_count=50, deadline=None)
TestRandomEnrolments = Enrolment.TestCase
HEAD_START.extend(
    [
        lambda m: m.the_member_pays_the_open_checkout(wrong_amount=False, webhook_now=True),
        Enrolment.the_member_submits,
        lambda m: m.the_evaluator_decides(approved=False),
        Enrolment.the_member_starts_a_resubmission,
        lambda m: m.time_passes(hours=1, days=8, long=True),  # its checkout's window passes
        Enrolment.the_member_starts_a_resubmission,
        lambda m: m.the_member_pays_the_open_checkout(wrong_amount=False, webhook_now=True),
        Enrolment.the_member_submits,
        lambda m: m.the_evaluator_decides(approved=False),
        Enrolment.the_member_starts_a_resubmission,
    ]
)


def test_a_duplicate_payment_changes_nothing() -> None:
    state = EnrolmentState()
    state.checkout = Checkout(
        session_id="cs_1",
        url="https://pay.example/checkout",
        kind=PurchaseKind.PURCHASE,
        attempt=1,
        amount=PRICE,
        expires_at=START + timedelta(hours=24),
    )
    payment = PaymentConfirmed(checkout_session_id="cs_1", event_id="evt_1", amount=4900, currency="usd")
    assert money.use(state, payment, matches=True, now=START).use is Use.FULFIL
    before = state.model_copy(deep=True)
    assert money.use(state, payment, matches=True, now=START).use is Use.HANDLED
    assert state == before


def test_a_payment_at_the_deadline_is_refunded_not_used() -> None:
    state = EnrolmentState(status=Status.AWAITING_RESUBMISSION_PAYMENT, base_due_at=START)
    state.checkout = Checkout(
        session_id="cs_2",
        url="https://pay.example/checkout",
        kind=PurchaseKind.RESUBMISSION,
        attempt=2,
        amount=PRICE,
        expires_at=START + timedelta(hours=24),
    )
    payment = PaymentConfirmed(checkout_session_id="cs_2", event_id="evt_2", amount=4900, currency="usd")
    verdict = money.use(state, payment, matches=True, now=START)
    assert verdict == money.Verdict(Use.REFUND, "payment arrived after the submission deadline")
