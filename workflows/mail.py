"""Mail delivery of one recorded notification, retried for days, never blocking an enrolment."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import MailActivities
    from microcred.contracts import MailInput

# A mail server that is down delays mail; after this long we stop and record the failure.
PATIENCE = timedelta(days=3)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(hours=1))


@workflow.defn
class MailDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: MailInput) -> None:
        try:
            await workflow.execute_activity_method(
                MailActivities.send,
                inp,
                start_to_close_timeout=timedelta(minutes=1),
                schedule_to_close_timeout=PATIENCE,
                retry_policy=RETRY,
                summary="send over SMTP",
            )
        except ActivityError as err:
            cause = err.cause
            await workflow.execute_activity_method(
                MailActivities.give_up,
                MailInput(notification_id=inp.notification_id, error=str(cause or err)),
                start_to_close_timeout=timedelta(seconds=30),
                summary="record the mail failure",
            )
