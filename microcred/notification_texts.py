"""The words of every notification: a subject and a plain-text body per kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from microcred import currency
from microcred.contracts import NotificationKind

_TEMPLATES: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.PURCHASE_RECEIPT: (
        "Receipt: {credential_title}",
        "Thank you for your payment of {money} for {credential_title} ({kind}).\n"
        "Your submission deadline is {due_at}.",
    ),
    NotificationKind.DUE_REMINDER: (
        "Reminder: {credential_title} is due {due_at}",
        "Your work on {credential_title} is due {due_at} ({before_due} from now). "
        "Submit it for review before then to earn the badge.",
    ),
    NotificationKind.SUBMISSION_RECEIVED: (
        "Submitted: {credential_title}",
        "We received attempt {attempt} of {credential_title}. An evaluator will decide by {review_due_at}; "
        "the time under review is added to your deadline.",
    ),
    NotificationKind.EVALUATOR_ASSIGNED: (
        "New review: {credential_title}",
        "You have been assigned attempt {attempt} of {credential_title}. Please decide by {review_due_at}.",
    ),
    NotificationKind.REVIEW_UNASSIGNED: (
        "No evaluator for {credential_title}",
        "Attempt {attempt} of {credential_title} (enrolment {enrolment_id}) has no eligible evaluator. "
        "Register one, or let an eligible evaluator claim it.",
    ),
    NotificationKind.EVALUATOR_REMINDER: (
        "Reminder: review of {credential_title} due {review_due_at}",
        "Your review of attempt {attempt} of {credential_title} is due {review_due_at}.",
    ),
    NotificationKind.REVIEW_OVERDUE: (
        "Overdue review: {credential_title}",
        "The review of attempt {attempt} of {credential_title} (enrolment {enrolment_id}) was due "
        "{review_due_at} and has no decision (evaluator: {evaluator_id}).",
    ),
    NotificationKind.DECISION: (
        "Decision on {credential_title}: {outcome}",
        "Your evaluator has decided on attempt {attempt} of {credential_title}: {outcome}. "
        "Read the marked rubric in My Learning.{resubmit_hint}",
    ),
    NotificationKind.BADGE_ISSUED: (
        "Your badge for {credential_title}",
        "Congratulations! Your Open Badges 3.0 credential for {credential_title} is ready: {badge_url}",
    ),
    NotificationKind.EXPIRED: (
        "Expired: {credential_title}",
        "The submission window of {credential_title} has ended. You may purchase it again to start anew.",
    ),
    NotificationKind.CANCELLED: (
        "Cancelled: {credential_title}",
        "Your enrolment in {credential_title} was cancelled: {reason}.",
    ),
    NotificationKind.PAYMENT_REFUNDED: (
        "Refund: {credential_title}",
        "We refunded {money} for {credential_title}: {reason}.",
    ),
    NotificationKind.PAYMENT_PROCESSING: (
        "Payment processing: {credential_title}",
        "Your bank is still processing your payment for {credential_title}. We hold your enrolment "
        "until the payment confirms, at the latest until {held_until}; you need not pay again.",
    ),
    NotificationKind.DEADLINE_EXTENDED: (
        "New deadline for {credential_title}",
        "Your deadline for {credential_title} is now {due_at}. Reason: {reason}.",
    ),
    NotificationKind.OPERATOR_ALERT: ("microcred: {subject}", "{message}"),
}


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "-"


def _readable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return f"{datetime.fromisoformat(value):%d %B %Y, %H:%M UTC}"
        except ValueError:
            return value
    return value


def render(kind: NotificationKind, context: dict[str, Any]) -> tuple[str, str]:
    """Subject and body for ``kind``; unknown fields show as '-' rather than failing."""
    values = _Defaulting({k: _readable(v) for k, v in context.items()})
    if "amount" in context and "currency" in context:
        values["money"] = currency.readable(int(context["amount"]), str(context["currency"]))
    if context.get("outcome") == "resubmit":
        sections = ", ".join(context.get("unmet_sections") or [])
        values["resubmit_hint"] = f" Start a resubmission to revise: {sections}." if sections else ""
    else:
        values["resubmit_hint"] = ""
    subject, body = _TEMPLATES[kind]
    return subject.format_map(values)[:300], body.format_map(values)
