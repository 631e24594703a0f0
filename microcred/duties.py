"""What an enrolment must do when, as pure functions of its state and its credential's policies.

The enrolment workflow is level-triggered: after every change and at every alarm it asks
``due`` for the first duty that is due now, performs it, and asks again, until nothing is due;
then it sleeps until ``next_alarm`` (or the next message). Each duty, once performed, changes
the state so that it is no longer due, so a restarted or continued run simply asks again and
does exactly what is left. Pure: no Temporal, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from microcred import policies
from microcred.contracts import CredentialOutline, EnrolmentState
from microcred.lifecycle import Status


class Duty(StrEnum):
    """In lifecycle order: the order ``due`` offers them in when several are due at once."""

    OPEN_CHECKOUT = "open the checkout"
    CLOSE_CHECKOUT = "close the checkout whose window passed"
    EXPIRE = "expire at the submission deadline"
    REMIND_MEMBER = "remind the member of the deadline"
    GRANT_COMMUNITY = "grant access to the community"
    REMIND_EVALUATOR = "remind the evaluator of the review's due date"
    FLAG_OVERDUE = "flag the review overdue and hand it on"
    ISSUE_BADGE = "issue the badge"


@dataclass(frozen=True)
class Alarm:
    """A moment at which a duty falls due, and what for (the timer's summary in the UI)."""

    at: datetime
    label: str


def reminders_due(state: EnrolmentState, credential: CredentialOutline, now: datetime) -> list[str]:
    """The member's reminders (offsets before the deadline) whose moment has come, unsent."""
    if state.due_at is None:
        return []
    unsent = [o for o in credential.policies.reminders_before_due if o not in state.reminders_sent]
    return [o for o in unsent if now >= policies.subtract(state.due_at, o)]


def evaluator_reminder_at(state: EnrolmentState, credential: CredentialOutline) -> datetime | None:
    if state.review_due_at is None:
        return None
    return policies.subtract(state.review_due_at, credential.policies.evaluator_reminder_before)


def due(state: EnrolmentState, credential: CredentialOutline, now: datetime) -> Duty | None:
    """The first duty due at ``now``, or None when there is nothing to do until the next alarm."""
    s = state
    if s.status.awaiting_payment:
        if s.checkout is None:
            return Duty.OPEN_CHECKOUT
        if now >= s.checkout.ends_at:
            return Duty.CLOSE_CHECKOUT
    if s.status.member_holds_work and s.due_at is not None:
        if now >= s.due_at:
            return Duty.EXPIRE
        if reminders_due(s, credential, now):
            return Duty.REMIND_MEMBER
    if credential.community_id and s.purchased_at and not s.community_granted:
        return Duty.GRANT_COMMUNITY
    if s.status is Status.UNDER_REVIEW and s.review_due_at is not None:
        remind_at = evaluator_reminder_at(s, credential)
        if s.evaluator_id and not s.evaluator_reminded and remind_at is not None and now >= remind_at:
            return Duty.REMIND_EVALUATOR
        if not s.review_overdue and now >= s.review_due_at:
            return Duty.FLAG_OVERDUE
    if s.status is Status.APPROVED and s.badge_id is None:
        return Duty.ISSUE_BADGE
    return None


def alarms(state: EnrolmentState, credential: CredentialOutline) -> list[Alarm]:
    """Every moment ahead at which a duty falls due by the clock alone."""
    s, found = state, []
    if s.checkout is not None and s.status.awaiting_payment:
        label = "checkout expires" if s.checkout.held_until is None else "held checkout ends"
        found.append(Alarm(s.checkout.ends_at, label))
    if s.status.member_holds_work and s.due_at is not None:
        found.append(Alarm(s.due_at, "submission deadline"))
        for offset in credential.policies.reminders_before_due:
            if offset not in s.reminders_sent:
                moment = policies.subtract(s.due_at, offset)
                found.append(Alarm(moment, f"member reminder {offset} before due"))
    if s.status is Status.UNDER_REVIEW and s.review_due_at is not None:
        if not s.review_overdue:
            found.append(Alarm(s.review_due_at, "review due"))
        remind_at = evaluator_reminder_at(s, credential)
        if s.evaluator_id is not None and not s.evaluator_reminded and remind_at is not None:
            found.append(Alarm(remind_at, "evaluator reminder"))
    return found


def next_alarm(state: EnrolmentState, credential: CredentialOutline) -> Alarm | None:
    found = alarms(state, credential)
    return min(found, key=lambda a: a.at) if found else None
