"""A late payment the provider refuses to refund: admins are alerted, the refund workflow fails
visibly (it never pretends the money went back)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import LatePayment
from microcred.db import SessionFactory
from microcred.identity import Principal
from microcred.models import Notification, Payment
from microcred.payments import IssuedRefund, OfflineGateway, PaidCharge, PaymentRejected
from microcred.services import enrolments
from microcred.services.enrolments import EnrolmentCreated
from microcred.temporal.names import enrolment_workflow_id
from tests.support import API_BASE, member, publish, running_worker, webhook_recorded


class RefusingGateway(OfflineGateway):
    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        raise PaymentRejected("charge_already_refunded: the charge was refunded elsewhere")


class PartlyRefundedGateway(OfflineGateway):
    """4000 of every charge were refunded already (in Stripe's dashboard, say): a refund gives
    back the rest."""

    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        issued = await super().refund(charge, idempotency_key=idempotency_key, attempt=attempt)
        return IssuedRefund(refund_id=issued.refund_id, amount=charge.amount - 4000)


def late(created: EnrolmentCreated, who: Principal, title: str) -> LatePayment:
    """The purchase's checkout paid after its enrolment had ended (9900 usd)."""
    return LatePayment(
        enrolment_id=created.id,
        member_id=who.sub,
        credential_title=title,
        checkout_session_id=created.checkout_session_id or "",
        amount=9900,
        currency="usd",
        reason="the payment arrived after the enrolment had ended",
    )


async def test_a_refused_refund_alerts_admins(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory
) -> None:
    doc = publish(own_sqlite)
    someone = member()
    gateway = RefusingGateway(api_base_url=API_BASE)
    async with running_worker(ts_env.client, own_sqlite, gateway=gateway) as run:
        created = await enrolments.enrol(
            sessions=own_sqlite, workflows=run.workflows, principal=someone, credential_id=doc.id
        )
        session_id = created.checkout_session_id or ""
        await run.workflows.refund_late_payment(late(created, someone, doc.title))
        with pytest.raises(WorkflowFailureError):
            await ts_env.client.get_workflow_handle(f"refund-{session_id}").result()
    with own_sqlite() as session:
        alerts = session.exec(
            select(Notification).where(
                Notification.enrolment_id == created.id, Notification.kind == "operator_alert"
            )
        ).all()
        payment = session.get(Payment, session_id)
    assert [a.recipient_id for a in alerts] == ["admins"]
    assert "charge_already_refunded" in alerts[0].body
    assert payment is not None and payment.status != "refunded"


async def test_the_refund_notice_names_what_was_given_back_after_a_partial_refund(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory
) -> None:
    doc = publish(own_sqlite)
    someone = member()
    async with running_worker(
        ts_env.client, own_sqlite, gateway=PartlyRefundedGateway(api_base_url=API_BASE)
    ) as run:
        created = await enrolments.enrol(
            sessions=own_sqlite, workflows=run.workflows, principal=someone, credential_id=doc.id
        )
        session_id = created.checkout_session_id or ""
        webhook_recorded(own_sqlite, session_id, amount=9900)
        await run.workflows.refund_late_payment(late(created, someone, doc.title))
        result = await ts_env.client.get_workflow_handle(f"refund-{session_id}").result()
    assert result["amount"] == 5900
    with own_sqlite() as session:
        [notice] = session.exec(
            select(Notification).where(
                Notification.enrolment_id == created.id, Notification.kind == "payment_refunded"
            )
        ).all()
        payment = session.get(Payment, session_id)
    assert notice.body.startswith("We refunded 59.00 USD")
    assert payment is not None and (payment.status, payment.refunded_amount) == ("refunded", 5900)


class UnclosableGateway(OfflineGateway):
    """A provider that never closes a checkout: it refuses for good (a revoked key), or it
    cannot be reached (retried until the close's time runs out)."""

    def __init__(self, failure: Exception) -> None:
        super().__init__(api_base_url=API_BASE)
        self.failure = failure

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | None:
        raise self.failure


@pytest.mark.parametrize(
    "failure",
    [PaymentRejected("Invalid API key provided"), ConnectionError("Stripe cannot be reached")],
    ids=["refused", "unreachable"],
)
async def test_a_checkout_the_provider_will_not_close_ends_unpaid_and_admins_are_told(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, failure: Exception
) -> None:
    doc = publish(own_sqlite)
    someone = member()
    async with running_worker(ts_env.client, own_sqlite, gateway=UnclosableGateway(failure)) as run:
        created = await enrolments.enrol(
            sessions=own_sqlite, workflows=run.workflows, principal=someone, credential_id=doc.id
        )
        await ts_env.sleep(timedelta(days=2))  # past the payment window (PT24H)
        result = await ts_env.client.get_workflow_handle(enrolment_workflow_id(created.id)).result()
    assert result["status"] == "cancelled"
    with own_sqlite() as session:
        notes = session.exec(select(Notification).where(Notification.enrolment_id == created.id)).all()
    alerts = [n.body for n in notes if n.kind == "operator_alert"]
    assert len(alerts) == 1 and "did not close checkout session" in alerts[0]
    assert [n.kind for n in notes if n.recipient_id == someone.sub] == ["cancelled"]
