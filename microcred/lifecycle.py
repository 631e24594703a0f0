"""The enrolment lifecycle on one screen: its statuses, what moves them, and the one function
that does. Pure: no Temporal, no I/O; the workflow, the services and the tests read it alike.

```
awaiting_payment ──paid──▶ in_progress ──submitted──▶ under_review ──approved──▶ approved
    │                        ▲   │                        │
    │ checkout_ended         │   │ deadline_passed        └─resubmission_requested─▶ resubmission_requested
    ▼                        │   ▼                                                    │ resubmission_started
cancelled                    │ expired ◀── deadline_passed ───────────────────────────┤
                             │                                                        ▼
                             └──────paid────── (checkout_ended: back) ── awaiting_resubmission_payment

cancelled: from every status that is not final (an admin's cancellation)
```
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Status(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    IN_PROGRESS = "in_progress"
    UNDER_REVIEW = "under_review"
    RESUBMISSION_REQUESTED = "resubmission_requested"
    AWAITING_RESUBMISSION_PAYMENT = "awaiting_resubmission_payment"
    APPROVED = "approved"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def member_holds_work(self) -> bool:
        """The statuses in which the submission deadline runs and can expire the enrolment."""
        return self in MEMBER_HOLDS_WORK

    @property
    def awaiting_payment(self) -> bool:
        """A checkout is (to be) open: for the first purchase or for a resubmission."""
        return self in AWAITING_PAYMENT


class Trigger(StrEnum):
    """What happened to an enrolment, as far as its status is concerned."""

    PAID = "paid"  # the open checkout's payment was confirmed and used
    CHECKOUT_ENDED = "checkout_ended"  # the checkout can no longer be paid (window, failure, refusal)
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RESUBMISSION_REQUESTED = "resubmission_requested"
    RESUBMISSION_STARTED = "resubmission_started"
    DEADLINE_PASSED = "deadline_passed"
    CANCELLED = "cancelled"  # by an admin


S, T = Status, Trigger

TRANSITIONS: Mapping[Status, Mapping[Trigger, Status]] = {
    S.AWAITING_PAYMENT: {
        T.PAID: S.IN_PROGRESS,
        T.CHECKOUT_ENDED: S.CANCELLED,
        T.CANCELLED: S.CANCELLED,
    },
    S.IN_PROGRESS: {
        T.SUBMITTED: S.UNDER_REVIEW,
        T.DEADLINE_PASSED: S.EXPIRED,
        T.CANCELLED: S.CANCELLED,
    },
    S.UNDER_REVIEW: {
        T.APPROVED: S.APPROVED,
        T.RESUBMISSION_REQUESTED: S.RESUBMISSION_REQUESTED,
        T.CANCELLED: S.CANCELLED,
    },
    S.RESUBMISSION_REQUESTED: {
        T.RESUBMISSION_STARTED: S.AWAITING_RESUBMISSION_PAYMENT,
        T.DEADLINE_PASSED: S.EXPIRED,
        T.CANCELLED: S.CANCELLED,
    },
    S.AWAITING_RESUBMISSION_PAYMENT: {
        T.PAID: S.IN_PROGRESS,
        T.CHECKOUT_ENDED: S.RESUBMISSION_REQUESTED,
        T.DEADLINE_PASSED: S.EXPIRED,
        T.CANCELLED: S.CANCELLED,
    },
    S.APPROVED: {},
    S.EXPIRED: {},
    S.CANCELLED: {},
}

# Derived from the table, so each is written once.
TERMINAL = frozenset(s for s, moves in TRANSITIONS.items() if not moves)
MEMBER_HOLDS_WORK = frozenset(s for s, moves in TRANSITIONS.items() if T.DEADLINE_PASSED in moves)
AWAITING_PAYMENT = frozenset(s for s, moves in TRANSITIONS.items() if T.PAID in moves)


class InvalidTransition(ValueError):
    """A move the table lacks: a bug in the caller, never a member's or an admin's mistake
    (those are refused by the rules before anything moves)."""


def can(status: Status, trigger: Trigger) -> bool:
    return trigger in TRANSITIONS[status]


def move(status: Status, trigger: Trigger) -> Status:
    """The status that ``trigger`` leads to from ``status``; refuses a move the table lacks."""
    try:
        return TRANSITIONS[status][trigger]
    except KeyError:
        raise InvalidTransition(f"{trigger.value} cannot happen while {status.value}") from None
