"""The run loop's work: act on what the payment provider said, then perform every duty that is
due now (``microcred.duties`` says which, in lifecycle order), one at a time, until none is.

Level-triggered: each round looks at the state as it is, so a duty missed by a crash, a deploy
or a continue-as-new is simply found due again and done, exactly once (each duty changes the
state so that it is no longer due).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activities
from workflows.enrolment import payments, review
from workflows.enrolment.context import Enrolment

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import BadgeInput, CommunityInput, EventKind, NotificationKind
    from microcred.duties import Duty, due, next_alarm, reminders_due
    from microcred.lifecycle import Trigger
    from microcred.policies import approximate

# More rounds than duties exist: a duty that stays due after it ran is a bug, not a loop.
MAX_ROUNDS = 2 * len(Duty)
# A step whose activity gave up (the database or the provider out for longer than its
# patience, or data it cannot take) is tried again after these pauses, the last repeated; the
# admins are alerted once it has been stuck this long.
STALL_PAUSES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30))
STALL_ALERT_AFTER = timedelta(minutes=20)


class Stall:
    """The run loop's memory of a step that keeps failing: when it began, how often it was
    tried, whether the admins know."""

    def __init__(self) -> None:
        self.since: datetime | None = None
        self.tries = 0
        self.alerted = False

    def clear(self) -> None:
        self.since, self.tries, self.alerted = None, 0, False

    async def pause(self, e: Enrolment, failure: ActivityError) -> None:
        """Wait before trying again (without the lock: requests and signals go on meanwhile)."""
        now = workflow.now()
        self.since = self.since or now
        cause = failure.cause or failure
        workflow.logger.warning(
            "enrolment %s: %s failed, trying again later: %s", e.id, failure.activity_type, cause
        )
        if not self.alerted and now - self.since >= STALL_ALERT_AFTER:
            self.alerted = True
            e.alert_admins(
                f"stalled:{self.since.isoformat()}",
                subject=f"enrolment {e.id} is stuck",
                message=f"its step {failure.activity_type} has failed since {self.since:%Y-%m-%d %H:%M} UTC "
                f"({cause}); it is tried again every {STALL_PAUSES[-1]}. Look at the enrolment's "
                "workflow in the Temporal UI for the activity's failures.",
            )
        # The notifications go out meanwhile (the alert among them), if the store takes them.
        with contextlib.suppress(ActivityError):
            await e.send_notifications()
        await workflow.sleep(STALL_PAUSES[min(self.tries, len(STALL_PAUSES) - 1)])
        self.tries += 1


async def sleep(e: Enrolment, seen: int) -> None:
    """Until the next alarm rings (the loop then acts on it) or something changes."""

    def changed() -> bool:
        return e.changes != seen

    alarm = next_alarm(e.state, e.credential)
    if alarm is None:
        await workflow.wait_condition(changed)
    elif alarm.at > workflow.now():
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                changed, timeout=alarm.at - workflow.now(), timeout_summary=alarm.label
            )


async def catch_up(e: Enrolment) -> None:
    """Everything that is due now: the provider's messages in order, then the duties."""
    while e.state.arrivals:
        with e.all_or_nothing():
            await payments.act_on(e, e.state.arrivals[0])
            e.state.arrivals.pop(0)
    now = workflow.now()
    for _ in range(MAX_ROUNDS):
        duty = due(e.state, e.credential, now)
        if duty is None:
            return
        with e.all_or_nothing():
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
