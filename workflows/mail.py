"""Mail delivery of one recorded notification, retried for days, never blocking an enrolment."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activities

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import MailInput
    from microcred.temporal.names import MAIL_WORKFLOW


@workflow.defn(name=MAIL_WORKFLOW)
class MailDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: MailInput) -> None:
        try:
            sent = await activities.send_mail(inp)
        except ActivityError as err:  # the mail server stayed down for days, or refused for good
            await activities.give_up_mail(
                MailInput(notification_id=inp.notification_id, error=str(err.cause or err))
            )
            return
        # Apart from the send: a retry of this step (the database down) never mails again.
        if sent:
            await activities.record_mail_sent(inp)
