"""The run loop's work: act on what the payment provider said, then perform every duty that is
due now (``microcred.duties`` says which, in lifecycle order), one at a time, until none is.

Level-triggered: each round looks at the state as it is, so a duty missed by a crash, a deploy
or a continue-as-new is simply found due again and done, exactly once (each duty changes the
state so that it is no longer due).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from workflows import activities
from workflows.enrolment import payments, review
from workflows.enrolment.context import Enrolment

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import BadgeInput, CommunityInput, EventKind, NotificationKind
    from microcred.duties import Duty, due, reminders_due
    from microcred.lifecycle import Trigger
    from microcred.policies import approximate

# More rounds than duties exist: a duty that stays due after it ran is a bug, not a loop.
MAX_ROUNDS = 2 * len(Duty)


async def catch_up(e: Enrolment) -> None:
    """Everything that is due now: the provider's messages in order, then the duties."""
    while e.state.arrivals:
        await payments.act_on(e, e.state.arrivals[0])
        e.state.arrivals.pop(0)
    now = workflow.now()
    for _ in range(MAX_ROUNDS):
        duty = due(e.state, e.credential, now)
        if duty is None:
            return
        await perform(e, duty, now)
    raise RuntimeError(f"enrolment {e.id}: {due(e.state, e.credential, now)} stays due after it ran")


async def perform(e: Enrolment, duty: Duty, now: datetime) -> None:
    match duty:
        case Duty.OPEN_CHECKOUT:
            await payments.open_checkout(e)
        case Duty.CLOSE_CHECKOUT:
            await payments.window_passed(e)
        case Duty.EXPIRE:
            await expire(e)
        case Duty.REMIND_MEMBER:
            await remind_member(e, now)
        case Duty.GRANT_COMMUNITY:
            await grant_community(e)
        case Duty.REMIND_EVALUATOR:
            await review.remind_evaluator(e, now)
        case Duty.FLAG_OVERDUE:
            await review.flag_overdue(e)
        case Duty.ISSUE_BADGE:
            await issue_badge(e)


async def expire(e: Enrolment) -> None:
    s = e.state
    await payments.close_on_ending(e, "the submission deadline passed before the payment could be used")
    e.move(Trigger.DEADLINE_PASSED)
    s.checkout = None
    await e.record(EventKind.EXPIRED, due_at=s.due_at.isoformat() if s.due_at else None)
    e.tell_member(NotificationKind.EXPIRED, "expired")


async def remind_member(e: Enrolment, now: datetime) -> None:
    s = e.state
    assert s.due_at is not None
    reminders = reminders_due(s, e.credential, now)
    # Several can fall due at once (a short window, a long review): send the nearest only.
    nearest = min(reminders, key=approximate)
    s.reminders_sent.extend(reminders)
    await e.record(EventKind.REMINDER_SENT, before_due=nearest, due_at=s.due_at.isoformat())
    e.tell_member(
        NotificationKind.DUE_REMINDER,
        f"reminder:{s.attempt}:{nearest}:{s.due_at.isoformat()}",
        before_due=nearest,
        due_at=s.due_at.isoformat(),
        status=s.status.value,
    )


async def grant_community(e: Enrolment) -> None:
    assert e.credential.community_id is not None
    await activities.grant_community(
        CommunityInput(
            enrolment_id=e.id, member_id=e.member, community_id=e.credential.community_id, at=workflow.now()
        )
    )
    e.state.community_granted = True
    await e.record(EventKind.COMMUNITY_GRANTED, community_id=e.credential.community_id)


async def issue_badge(e: Enrolment) -> None:
    badge_id = await activities.issue_badge(
        BadgeInput(enrolment_id=e.id, attempt=e.state.attempt, at=workflow.now())
    )
    e.state.badge_id = badge_id
    await e.record(EventKind.BADGE_ISSUED, badge_id=badge_id)
    e.tell_member(NotificationKind.BADGE_ISSUED, "badge", badge_id=badge_id)
