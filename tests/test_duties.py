"""What falls due when (``microcred.duties``), tested directly: no Temporal, no clock but ours.

The workflow sleeps until ``next_alarm`` and then performs what ``due`` says, until nothing is
due; so an alarm must never ring for nothing, and nothing the clock brings may fall due
without an alarm before it (the enrolment would sleep through it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from microcred import policies
from microcred.contracts import Checkout, CredentialOutline, EnrolmentState, Money, Policies, PurchaseKind
from microcred.duties import Duty, alarms, due, next_alarm, reminders_due
from microcred.lifecycle import Status

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PRICE = Money(amount=4900, currency="usd")


def credential(community: str | None = None, **policy: object) -> CredentialOutline:
    return CredentialOutline(
        id="cred",
        title="Credential",
        price=PRICE,
        resubmission_price=PRICE,
        community_id=community,
        policies=Policies.model_validate(policy),
        sections=[],
    )


def checkout(expires_at: datetime, held_until: datetime | None = None) -> Checkout:
    return Checkout(
        session_id="cs_1",
        url="https://pay.example/c",
        kind=PurchaseKind.PURCHASE,
        attempt=1,
        amount=PRICE,
        expires_at=expires_at,
        held_until=held_until,
    )


CRED = credential()


def test_a_new_enrolment_opens_its_checkout_and_closes_it_when_the_window_passes() -> None:
    state = EnrolmentState()
    assert due(state, CRED, T0) is Duty.OPEN_CHECKOUT
    assert alarms(state, CRED) == []
    state.checkout = checkout(T0 + timedelta(hours=24))
    assert due(state, CRED, T0) is None
    assert next_alarm(state, CRED) is not None
    assert next_alarm(state, CRED) == alarms(state, CRED)[0]
    assert alarms(state, CRED)[0].at == T0 + timedelta(hours=24)
    assert alarms(state, CRED)[0].label == "checkout expires"
    assert due(state, CRED, T0 + timedelta(hours=24)) is Duty.CLOSE_CHECKOUT


def test_a_held_checkout_waits_for_its_hold() -> None:
    state = EnrolmentState(checkout=checkout(T0, held_until=T0 + timedelta(days=21)))
    assert due(state, CRED, T0 + timedelta(days=1)) is None
    assert [(a.at, a.label) for a in alarms(state, CRED)] == [(T0 + timedelta(days=21), "held checkout ends")]
    assert due(state, CRED, T0 + timedelta(days=21)) is Duty.CLOSE_CHECKOUT


def test_the_member_is_reminded_before_the_deadline_and_the_enrolment_expires_at_it() -> None:
    state = EnrolmentState(status=Status.IN_PROGRESS, purchased_at=T0, base_due_at=T0 + timedelta(days=300))
    due_at = T0 + timedelta(days=300)
    assert due(state, CRED, due_at - timedelta(days=31)) is None
    assert due(state, CRED, due_at - timedelta(days=30)) is Duty.REMIND_MEMBER
    assert reminders_due(state, CRED, due_at - timedelta(days=30)) == ["P30D"]
    # Both at once after a long outage: both are due (the workflow sends the nearest).
    assert reminders_due(state, CRED, due_at - timedelta(days=1)) == ["P30D", "P7D"]
    state.reminders_sent = ["P30D", "P7D"]
    assert due(state, CRED, due_at - timedelta(days=1)) is None
    assert [a.label for a in alarms(state, CRED)] == ["submission deadline"]
    # The deadline comes before any reminder left unsent.
    state.reminders_sent = []
    assert due(state, CRED, due_at) is Duty.EXPIRE


def test_time_under_review_and_extensions_move_the_deadline() -> None:
    state = EnrolmentState(
        status=Status.RESUBMISSION_REQUESTED,
        purchased_at=T0,
        base_due_at=T0 + timedelta(days=300),
        review_time=timedelta(days=10),
        extension=timedelta(days=5),
        reminders_sent=["P30D", "P7D"],
    )
    assert due(state, CRED, T0 + timedelta(days=314)) is None
    assert due(state, CRED, T0 + timedelta(days=315)) is Duty.EXPIRE


def test_the_community_is_granted_once_paid() -> None:
    cred = credential(community="community-1")
    state = EnrolmentState(status=Status.IN_PROGRESS, purchased_at=T0, base_due_at=T0 + timedelta(days=300))
    assert due(state, cred, T0) is Duty.GRANT_COMMUNITY
    state.community_granted = True
    assert due(state, cred, T0) is None
    assert due(EnrolmentState(checkout=checkout(T0 + timedelta(days=1))), cred, T0) is None  # not paid yet


def test_the_evaluator_is_reminded_and_an_overdue_review_is_flagged() -> None:
    review_due = T0 + timedelta(days=14)
    state = EnrolmentState(
        status=Status.UNDER_REVIEW,
        purchased_at=T0,
        base_due_at=T0 + timedelta(days=300),
        submitted_at=T0,
        review_due_at=review_due,
        evaluator_id="eva",
        reminders_sent=["P30D", "P7D"],
    )
    assert due(state, CRED, review_due - timedelta(days=3, seconds=1)) is None
    assert due(state, CRED, review_due - timedelta(days=3)) is Duty.REMIND_EVALUATOR
    state.evaluator_reminded = True
    assert due(state, CRED, review_due - timedelta(seconds=1)) is None
    assert due(state, CRED, review_due) is Duty.FLAG_OVERDUE
    state.review_overdue = True
    assert due(state, CRED, review_due + timedelta(days=30)) is None
    assert alarms(state, CRED) == []  # the deadline does not run under review
    # Nobody to remind: an unassigned review has no evaluator reminder.
    state = state.model_copy(
        update={"evaluator_id": None, "evaluator_reminded": False, "review_overdue": False}
    )
    assert [a.label for a in alarms(state, CRED)] == ["review due"]


def test_an_approved_enrolment_issues_its_badge_once() -> None:
    state = EnrolmentState(status=Status.APPROVED, purchased_at=T0)
    assert due(state, CRED, T0) is Duty.ISSUE_BADGE
    state.badge_id = "badge-1"
    assert due(state, CRED, T0) is None
    assert alarms(state, CRED) == []


# --- the property: alarms and duties agree -----------------------------------------------------

DURATIONS = st.sampled_from(["PT24H", "P3D", "P7D", "P14D", "P30D", "P2M", "P10M"])


@st.composite
def states(draw: st.DrawFn) -> tuple[EnrolmentState, CredentialOutline]:
    cred = credential(
        community=draw(st.sampled_from([None, "community-1"])),
        submission_window=draw(DURATIONS),
        review_window=draw(DURATIONS),
        reminders_before_due=draw(st.lists(DURATIONS, unique=True, max_size=3)),
        evaluator_reminder_before=draw(DURATIONS),
    )
    status = draw(st.sampled_from(Status))
    hours = st.integers(min_value=-24 * 400, max_value=24 * 400).map(lambda h: T0 + timedelta(hours=h))
    paid = not status.awaiting_payment or status is Status.AWAITING_RESUBMISSION_PAYMENT
    state = EnrolmentState(status=status)
    if paid:
        state.purchased_at = draw(hours)
        state.base_due_at = policies.add(state.purchased_at, cred.policies.submission_window)
        state.review_time = timedelta(days=draw(st.integers(0, 60)))
        state.extension = timedelta(days=draw(st.integers(0, 60)))
        state.community_granted = draw(st.booleans())
        state.reminders_sent = draw(st.lists(st.sampled_from(cred.policies.reminders_before_due or ["P7D"])))
    if status.awaiting_payment and draw(st.booleans()):
        expires = draw(hours)
        state.checkout = checkout(expires, held_until=draw(st.one_of(st.none(), hours)))
    if status is Status.UNDER_REVIEW:
        state.submitted_at = draw(hours)
        state.review_due_at = policies.add(state.submitted_at, cred.policies.review_window)
        state.evaluator_id = draw(st.one_of(st.none(), st.just("eva")))
        state.evaluator_reminded = draw(st.booleans())
        state.review_overdue = draw(st.booleans())
    if status is Status.APPROVED:
        state.badge_id = draw(st.one_of(st.none(), st.just("badge-1")))
    return state, cred


CLOCK_FREE = {None, Duty.OPEN_CHECKOUT, Duty.GRANT_COMMUNITY, Duty.ISSUE_BADGE}


@given(states())
def test_an_alarm_never_rings_for_nothing(case: tuple[EnrolmentState, CredentialOutline]) -> None:
    state, cred = case
    for alarm in alarms(state, cred):
        assert due(state, cred, alarm.at) is not None, alarm


@given(states(), st.integers(min_value=0, max_value=24 * 800))
def test_nothing_falls_due_by_the_clock_before_the_next_alarm(
    case: tuple[EnrolmentState, CredentialOutline], hours: int
) -> None:
    state, cred = case
    earliest = min([a.at for a in alarms(state, cred)], default=None)
    now = T0 - timedelta(days=400) + timedelta(hours=hours)
    if earliest is None or now < earliest:
        # Asleep until the alarm: only what needs no clock may be due (it is done at once).
        assert due(state, cred, now) in CLOCK_FREE
        if earliest is None:
            assert due(state, cred, now) == due(state, cred, now + timedelta(days=3650))


@given(states())
def test_a_final_enrolment_has_no_alarm(case: tuple[EnrolmentState, CredentialOutline]) -> None:
    state, cred = case
    if state.status.terminal:
        assert alarms(state, cred) == []
        assert due(state, cred, T0 + timedelta(days=3650)) in {None, Duty.GRANT_COMMUNITY, Duty.ISSUE_BADGE}
