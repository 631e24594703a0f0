"""The offline provider keeps its own record of refunds (the ledger ``make chaos`` counts from)."""

from __future__ import annotations

from pathlib import Path

from microcred.config import Settings
from microcred.payments import OfflineGateway, PaidCharge, gateway_from_settings
from microcred.payments.offline import REFUND_LEDGER, refunds

CHARGE = PaidCharge(checkout_session_id="cs_offline_1", payment_intent=None, amount=9900, currency="usd")


async def test_every_refund_is_recorded_and_a_replayed_key_is_the_same_refund(tmp_path: Path) -> None:
    ledger = tmp_path / "data" / REFUND_LEDGER
    gateway = OfflineGateway(api_base_url="http://localhost/api/v1", ledger=ledger)
    assert refunds(ledger) == []

    first = await gateway.refund(CHARGE, idempotency_key="enrolment:e1:refund:cs_offline_1")
    again = await gateway.refund(CHARGE, idempotency_key="enrolment:e1:refund:cs_offline_1", attempt=2)
    other = await gateway.refund(CHARGE, idempotency_key="enrolment:e1:refund:cs_offline_1:x")

    assert first == again and other.refund_id != first.refund_id
    recorded = refunds(ledger)
    assert [r["refund_id"] for r in recorded] == [first.refund_id, first.refund_id, other.refund_id]
    assert {r["checkout_session_id"] for r in recorded} == {"cs_offline_1"}
    assert recorded[0]["amount"] == 9900 and recorded[0]["currency"] == "usd"


async def test_the_offline_provider_keeps_its_ledger_in_the_data_folder(tmp_path: Path) -> None:
    gateway = gateway_from_settings(Settings(environment="test", data_dir=tmp_path))
    assert isinstance(gateway, OfflineGateway)
    issued = await gateway.refund(CHARGE, idempotency_key="enrolment:e2:refund:cs_offline_1")
    assert [r["refund_id"] for r in refunds(tmp_path / REFUND_LEDGER)] == [issued.refund_id]
