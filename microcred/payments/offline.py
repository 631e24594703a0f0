"""The offline payment provider: checkout pages served by microcred itself (``api/routes/checkout.py``),
whose Pay button delivers the same signed event a Stripe webhook would."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from microcred.payments.gateway import CheckoutSpec, IssuedRefund, OpenedCheckout, PaidCharge, Processing

# The provider's own record of the refunds it made, one JSON line each, in the data folder: what
# Stripe's dashboard lists, for a person or a drill (``make chaos``) to check against microcred's.
REFUND_LEDGER = "offline-refunds.jsonl"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class OfflineGateway:
    """Checkout pages served by microcred itself; nothing leaves the machine."""

    provider = "offline"

    def __init__(self, *, api_base_url: str, ledger: Path | None = None) -> None:
        self._api_base_url = api_base_url.rstrip("/")
        self._ledger = ledger

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        # Derived from the idempotency key, so a retried activity opens the same session.
        session_id = f"cs_offline_{_digest(spec.request.idempotency_key)}"
        return OpenedCheckout(
            session_id=session_id,
            url=f"{self._api_base_url}/checkout/{session_id}",
            expires_at=spec.request.expires_at,
        )

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | Processing | None:
        # The page's Pay button refuses once the session's expiry has passed, and a payment it
        # took is recorded before its event is delivered: nothing is held here.
        return None

    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        issued = IssuedRefund(refund_id=f"re_offline_{_digest(idempotency_key)}", amount=charge.amount)
        if self._ledger is not None:
            # Every call, a repeated key too (Stripe gives back the same refund for it): the
            # ledger shows what was asked, and a refund id twice is one refund.
            entry = {
                "refund_id": issued.refund_id,
                "checkout_session_id": charge.checkout_session_id,
                "amount": issued.amount,
                "currency": charge.currency,
                "idempotency_key": idempotency_key,
                "at": datetime.now(UTC).isoformat(),
            }
            await asyncio.to_thread(_append, self._ledger, entry)
        return issued

    async def aclose(self) -> None:
        return None


def _append(ledger: Path, entry: dict[str, object]) -> None:
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with ledger.open("a") as out:  # one short line per write: appends never interleave
        out.write(json.dumps(entry) + "\n")


def refunds(ledger: Path) -> list[dict[str, object]]:
    """The refunds the offline provider recorded in ``ledger`` (none if it never refunded)."""
    if not ledger.exists():
        return []
    return [json.loads(line) for line in ledger.read_text().splitlines() if line.strip()]
