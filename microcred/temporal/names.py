"""The names the workers, the API and operators share: workflow ids and types, message and
activity names, search attributes (the task queue is configuration: ``Settings.task_queue``).

Both sides address each other by these names only: the API's client never imports the workflow
code, and the workflows never import the activities' code (they reach them by name, with the
typed inputs and results of ``microcred.contracts``).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

# --- workflows --------------------------------------------------------------------------------

ENROLMENT_WORKFLOW = "EnrolmentWorkflow"
MAIL_WORKFLOW = "MailDeliveryWorkflow"
LATE_PAYMENT_WORKFLOW = "LatePaymentWorkflow"
EVIDENCE_SWEEP_WORKFLOW = "EvidenceSweepWorkflow"
# The Temporal Schedule that starts the sweep of stale evidence uploads (one per namespace).
EVIDENCE_SWEEP_SCHEDULE = "evidence-sweep"


def enrolment_workflow_id(enrolment_id: str) -> str:
    return f"enrolment-{enrolment_id}"


def mail_workflow_id(notification_id: str) -> str:
    return f"mail-{notification_id}"


def late_payment_workflow_id(checkout_session_id: str) -> str:
    return f"refund-{checkout_session_id}"


# --- the enrolment workflow's messages ----------------------------------------------------------


class Update:
    CHECKOUT = "checkout"
    SUBMIT = "submit"
    START_RESUBMISSION = "start_resubmission"
    CLAIM = "claim"
    DECIDE = "decide"
    EXTEND_DEADLINE = "extend_deadline"
    REASSIGN_REVIEW = "reassign_review"
    CANCEL = "cancel"
    RESEND_NOTIFICATION = "resend_notification"


class Signal:
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_MISMATCHED = "payment_mismatched"
    PAYMENT_REFUNDED_ELSEWHERE = "payment_refunded_elsewhere"
    CHECKOUT_ENDED = "checkout_ended"


class Query:
    STATE = "state"


# --- activities ---------------------------------------------------------------------------------


class Activity:
    RECORD = "store.record"
    FREEZE_SUBMISSION = "store.freeze_submission"
    RECORD_DECISION = "store.record_decision"
    ASSIGN_EVALUATOR = "store.assign_evaluator"
    GRANT_COMMUNITY = "store.grant_community"
    CREATE_CHECKOUT = "payments.create_checkout"
    CLOSE_CHECKOUT = "payments.close_checkout"
    REFUND = "payments.refund"
    NOTIFY = "notifications.notify"
    RESEND = "notifications.resend"
    SEND_MAIL = "mail.send"
    MAIL_SENT = "mail.sent"
    GIVE_UP_MAIL = "mail.give_up"
    ISSUE_BADGE = "badges.issue"
    SWEEP_UPLOADS = "evidence.sweep_stale"


# --- search attributes --------------------------------------------------------------------------

ENROLMENT_STATUS = SearchAttributeKey.for_keyword("EnrolmentStatus")
MEMBER_ID = SearchAttributeKey.for_keyword("MemberId")
CREDENTIAL_ID = SearchAttributeKey.for_keyword("CredentialId")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
REVIEW_DUE_AT = SearchAttributeKey.for_datetime("ReviewDueAt")
EVALUATOR_ID = SearchAttributeKey.for_keyword("EvaluatorId")
REVIEW_OVERDUE = SearchAttributeKey.for_bool("ReviewOverdue")

SEARCH_ATTRIBUTES = (
    ENROLMENT_STATUS,
    MEMBER_ID,
    CREDENTIAL_ID,
    DUE_AT,
    REVIEW_DUE_AT,
    EVALUATOR_ID,
    REVIEW_OVERDUE,
)
