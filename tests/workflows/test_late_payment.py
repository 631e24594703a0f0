"""A late payment the provider refuses to refund: admins are alerted, the refund workflow fails
visibly (it never pretends the money went back)."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import LatePayment
from microcred.db import SessionFactory
from microcred.models import Notification, Payment
from microcred.payments import OfflineGateway, PaidCharge, PaymentRejected
from microcred.services import enrolments
from tests.support import API_BASE, member, publish, running_worker


class RefusingGateway(OfflineGateway):
    async def refund(self, charge: PaidCharge, *, idempotency_key: str) -> str:
        raise PaymentRejected("charge_already_refunded: the charge was refunded elsewhere")


async def test_a_refused_refund_alerts_admins(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory
) -> None:
    doc = publish(own_sqlite)
    someone = member()
    gateway = RefusingGateway(api_base_url=API_BASE)
    async with running_worker(ts_env.client, own_sqlite, gateway=gateway) as run:
        created = await enrolments.enrol(
            sessions=own_sqlite, lifecycle=run.lifecycle, principal=someone, credential_id=doc.id
        )
        session_id = created.checkout_session_id or ""
        await run.lifecycle.refund_late_payment(
            LatePayment(
                enrolment_id=created.id,
                member_id=someone.sub,
                credential_title=doc.title,
                checkout_session_id=session_id,
                amount=9900,
                currency="usd",
                reason="late",
            )
        )
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
