"""The payment gateway interface: what the payment activities call, whichever the provider.

``OfflineGateway`` (``offline``) is the embedded default, with no Stripe key: its checkout is a
local page whose Pay button delivers a signed ``checkout.session.completed`` through the same
webhook code as Stripe's. ``StripeGateway`` (``stripe_gateway``) talks to Stripe itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from microcred.contracts import CheckoutRequest


class PaymentRejected(Exception):
    """The provider refused the request for good (bad configuration, invalid request): retrying
    with the same parameters cannot succeed. Transient failures raise anything else."""


@dataclass(frozen=True)
class CheckoutSpec:
    request: CheckoutRequest
    customer_email: str | None
    success_url: str
    cancel_url: str
    attempt: int = 1  # the activity's attempt (a provider that replays errors under a key needs it)


@dataclass(frozen=True)
class OpenedCheckout:
    session_id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class PaidCharge:
    checkout_session_id: str
    payment_intent: str | None
    amount: int
    currency: str


@dataclass(frozen=True)
class Processing:
    """The session was completed with a payment method that confirms days later (a bank debit):
    its ``checkout.session.async_payment_succeeded`` or ``..._failed`` is still to come."""

    checkout_session_id: str


@dataclass(frozen=True)
class IssuedRefund:
    refund_id: str
    amount: int  # what this refund gave back: all that was left of the charge


class PaymentGateway(Protocol):
    provider: str

    async def create_checkout(self, spec: CheckoutSpec) -> OpenedCheckout:
        """Open a checkout session; the same ``spec.request.idempotency_key`` opens the same one."""
        ...

    async def close_checkout(self, checkout_session_id: str) -> PaidCharge | Processing | None:
        """End the session so that it can no longer be paid; the charge if it was paid first
        (its webhook may still be on its way), ``Processing`` if its payment is yet to confirm."""
        ...

    async def refund(self, charge: PaidCharge, *, idempotency_key: str, attempt: int = 1) -> IssuedRefund:
        """Refund what is left of ``charge``. Idempotent by key (``attempt``: the activity's)."""
        ...

    async def aclose(self) -> None: ...
