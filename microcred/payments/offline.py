"""The offline payment provider: checkout pages served by microcred itself (``api/routes/checkout.py``),
whose Pay button delivers the same signed event a Stripe webhook would."""

from __future__ import annotations

import hashlib

from microcred.payments.gateway import CheckoutSpec, IssuedRefund, OpenedCheckout, PaidCharge, Processing


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class OfflineGateway:
    """Checkout pages served by microcred itself; nothing leaves the machine."""

    provider = "offline"

    def __init__(self, *, api_base_url: str) -> None:
        self._api_base_url = api_base_url.rstrip("/")

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
        return IssuedRefund(refund_id=f"re_offline_{_digest(idempotency_key)}", amount=charge.amount)

    async def aclose(self) -> None:
        return None
