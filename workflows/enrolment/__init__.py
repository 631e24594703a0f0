"""The enrolment workflow: a thin driver (``workflow``) over its parts.

    workflow     the class: the run loop, the message handlers (a few lines each)
    context      the enrolment as the workflow holds it: status moves, records, notifications
    duties       what the run loop performs when it is due (``microcred.duties`` says what)
    payments     checkouts, what each payment is used for, refunds
    review       submission, assignment, claim, hand-over, reminders, the SLA, the decision
    repairs      the admins' repairs
    visibility   the read-model row, search attributes, current details, logs and counters

Every activity call (timeouts, retries, idempotency keys) is in ``workflows/activities.py``;
the statuses and their moves in ``microcred/lifecycle.py``; what falls due when in
``microcred/duties.py``; what a payment is for in ``microcred/money.py``; the rules that accept
or refuse a request in ``microcred/rules.py``. Those four are pure and tested without Temporal.
"""

from workflows.enrolment.workflow import EnrolmentWorkflow

__all__ = ["EnrolmentWorkflow"]
