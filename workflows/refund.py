"""Refund a payment that reached a finished enrolment (cancelled, expired, already paid).

Started by the payment webhook with id ``refund-<checkout session id>``, so a redelivered
event never refunds twice. A payment that arrives while the enrolment is still running is
refunded by the enrolment workflow itself.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import activities

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import Audience, LatePayment, NotificationKind, NotifyInput, RefundResult
    from microcred.temporal.names import LATE_PAYMENT_WORKFLOW


@workflow.defn(name=LATE_PAYMENT_WORKFLOW)
class LatePaymentWorkflow:
    @workflow.run
    async def run(self, payment: LatePayment) -> RefundResult:
        try:
            result = await activities.refund(
                enrolment_id=payment.enrolment_id,
                checkout_session_id=payment.checkout_session_id,
                reason=payment.reason,
                summary="refund the late payment",
                patience=activities.LONG_PATIENCE,
            )
        except ActivityError as err:
            # The provider refused the refund for good: admins refund by hand. The workflow then
            # fails, so it stays listed as failed in the UI until someone has looked.
            await activities.notify(
                NotifyInput(
                    key=f"{payment.enrolment_id}:refund-failed:{payment.checkout_session_id}",
                    kind=NotificationKind.OPERATOR_ALERT,
                    audience=Audience.ADMINS,
                    enrolment_id=payment.enrolment_id,
                    at=workflow.now(),
                    context={
                        "subject": f"refund failed for enrolment {payment.enrolment_id}",
                        "message": f"could not refund checkout session {payment.checkout_session_id} "
                        f"({payment.amount} {payment.currency}): {err.cause or err}",
                    },
                ),
                patience=activities.LONG_PATIENCE,
            )
            raise
        await activities.notify(
            NotifyInput(
                key=f"{payment.enrolment_id}:refund:{payment.checkout_session_id}",
                kind=NotificationKind.PAYMENT_REFUNDED,
                audience=Audience.MEMBER,
                recipient_id=payment.member_id,
                enrolment_id=payment.enrolment_id,
                at=workflow.now(),
                context={
                    "credential_title": payment.credential_title,
                    # What was given back: less than was paid after a partial refund.
                    "amount": result.amount if result.amount is not None else payment.amount,
                    "currency": payment.currency,
                    "reason": payment.reason,
                },
            ),
            patience=activities.LONG_PATIENCE,
        )
        return result
