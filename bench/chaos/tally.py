"""What really happened, counted from the ground truth, never from what the workflows say:
the database's rows, the offline provider's refund ledger and the SMTP server's inbox."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.chaos.lives import Life, Plan

FULFILMENTS = ("payment_confirmed", "attempt_started")  # the timeline's record of a payment used


@dataclass
class Tally:
    completed: int = 0
    incomplete: dict[str, str] = field(default_factory=dict)  # member -> what is wrong
    payments_fulfilled_twice: int = 0
    purchases_charged_twice: int = 0
    refunds_made_twice: int = 0
    badges_issued_twice: int = 0
    mails_sent_twice: int = 0
    mails_expected: int = 0
    mails_received: int = 0
    mails_missing: int = 0

    @property
    def doubles(self) -> dict[str, int]:
        """What must happen exactly once, whatever dies when. Mail is not among them: SMTP has
        no idempotent send, so a mail is sent at least once (with a stable Message-ID, by which
        mail systems can tell a duplicate); see ``Report.ok`` for its bound."""
        return {
            "payments_fulfilled_twice": self.payments_fulfilled_twice,
            "purchases_charged_twice": self.purchases_charged_twice,
            "refunds_made_twice": self.refunds_made_twice,
            "badges_issued_twice": self.badges_issued_twice,
        }


def _rows(db: psycopg.Connection[Any], sql: str, members: list[str]) -> list[tuple[Any, ...]]:
    return db.execute(sql.encode(), {"members": members}).fetchall()


_OURS = "SELECT id FROM enrolment WHERE member_id = ANY(%(members)s)"


def count(admin_url: str, lives: list[Life], refunds: list[dict[str, Any]], inbox: Counter[str]) -> Tally:
    tally = Tally()
    members = [life.member for life in lives]
    with psycopg.connect(admin_url) as db:
        enrolments = _rows(
            db,
            "SELECT id, member_id, status, attempt FROM enrolment WHERE member_id = ANY(%(members)s)",
            members,
        )
        payments = _rows(
            db,
            "SELECT checkout_session_id, enrolment_id, kind, attempt, status FROM payment"
            f" WHERE enrolment_id IN ({_OURS})",
            members,
        )
        badges = _rows(
            db,
            "SELECT member_id, credential_id, enrolment_id FROM badge WHERE member_id = ANY(%(members)s)",
            members,
        )
        fulfilments = _rows(
            db,
            "SELECT detail->>'checkout_session_id' FROM timeline_event"
            f" WHERE kind IN {FULFILMENTS!r} AND enrolment_id IN ({_OURS})",
            members,
        )
        notifications = _rows(
            db,
            "SELECT id FROM notification WHERE recipient_email IS NOT NULL"
            f" AND (enrolment_id IN ({_OURS}) OR recipient_id = ANY(%(members)s))",
            members,
        )

    # Refunds at the provider: one refund id is one refund, however often its key was replayed.
    refunded: defaultdict[str, set[str]] = defaultdict(set)
    for entry in refunds:
        refunded[str(entry["checkout_session_id"])].add(str(entry["refund_id"]))
    ours = {p[0] for p in payments}
    tally.refunds_made_twice = sum(1 for s, ids in refunded.items() if s in ours and len(ids) > 1)

    tally.payments_fulfilled_twice = sum(1 for n in Counter(f[0] for f in fulfilments).values() if n > 1)
    charged = Counter((p[1], p[2], p[3]) for p in payments if p[4] in ("paid", "refunded"))
    tally.purchases_charged_twice = sum(1 for n in charged.values() if n > 1)
    tally.badges_issued_twice = sum(1 for n in Counter((b[0], b[1]) for b in badges).values() if n > 1)

    expected_ids = {f"<{n[0]}@microcred.local>" for n in notifications}
    tally.mails_expected = len(expected_ids)
    tally.mails_received = sum(n for mid, n in inbox.items() if mid in expected_ids)
    tally.mails_sent_twice = sum(1 for mid, n in inbox.items() if mid in expected_ids and n > 1)
    tally.mails_missing = len(expected_ids - set(inbox))

    by_member: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in enrolments:
        by_member[row[1]].append(row)
    payments_of: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for p in payments:
        payments_of[p[1]].append(p)
    badged = {b[2] for b in badges}
    for life in lives:
        wrong = _check(life, by_member[life.member], payments_of, badged, refunded)
        if wrong:
            tally.incomplete[life.member] = wrong
        else:
            tally.completed += 1
    return tally


def _check(
    life: Life,
    rows: list[tuple[Any, ...]],
    payments_of: dict[str, list[tuple[Any, ...]]],
    badged: set[str],
    refunded: dict[str, set[str]],
) -> str | None:
    """What keeps ``life`` from having reached its expected end, if anything."""
    if len(rows) != 1:
        return f"{len(rows)} enrolments"
    enrolment_id, _, status, attempt = rows[0]
    sessions_refunded = {p[0] for p in payments_of[enrolment_id] if p[0] in refunded}
    if life.plan is Plan.CANCEL:
        paid = [p for p in payments_of[enrolment_id] if p[4] in ("paid", "refunded")]
        if status != "cancelled":
            return f"status {status}, expected cancelled"
        if len(paid) != 1 or paid[0][4] != "refunded" or paid[0][0] not in refunded:
            return f"payment not refunded once: {paid}, at the provider {sorted(sessions_refunded)}"
        return None
    expected_attempt = 2 if life.plan is Plan.RESUBMIT else 1
    if status != "approved" or attempt != expected_attempt:
        return f"status {status} attempt {attempt}, expected approved at attempt {expected_attempt}"
    if enrolment_id not in badged:
        return "approved without a badge"
    if sessions_refunded:
        return f"approved, yet refunded: {sorted(sessions_refunded)}"
    return None


def pending_mail(admin_url: str) -> int:
    """Notifications whose mail delivery is still under way."""
    with psycopg.connect(admin_url) as db:
        row = db.execute(b"SELECT count(*) FROM notification WHERE mail_status = 'pending'").fetchone()
    return int(row[0]) if row else 0
