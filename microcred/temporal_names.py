"""Names shared by the worker, the API and operators: task queue and search attributes."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEFAULT_TASK_QUEUE = "microcred"

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


def enrolment_workflow_id(enrolment_id: str) -> str:
    return f"enrolment-{enrolment_id}"
