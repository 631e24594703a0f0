"""Payments: the gateway protocol (``gateway``), its two providers (``stripe_gateway``,
``offline``) and the webhook that confirms payments (``webhooks``).

Activities open, close and refund checkouts through a ``PaymentGateway``; the API receives the
provider's events through ``webhooks`` and signals the enrolment's workflow.
"""

from __future__ import annotations

from microcred.config import Settings
from microcred.payments.gateway import (
    CheckoutSpec,
    IssuedRefund,
    OpenedCheckout,
    PaidCharge,
    PaymentGateway,
    PaymentRejected,
    Processing,
)
from microcred.payments.offline import REFUND_LEDGER, OfflineGateway

__all__ = [
    "CheckoutSpec",
    "IssuedRefund",
    "OfflineGateway",
    "OpenedCheckout",
    "PaidCharge",
    "PaymentGateway",
    "PaymentRejected",
    "Processing",
    "gateway_from_settings",
]


def gateway_from_settings(settings: Settings) -> PaymentGateway:
    """Stripe when a secret key is configured, else the offline provider."""
    if settings.stripe_secret_key is not None:
        # Imported here: Stripe's SDK (with httpx) loads only in the processes that use it.
        from microcred.payments.stripe_gateway import StripeGateway

        return StripeGateway.from_settings(settings)
    return OfflineGateway(api_base_url=settings.api_base_url, ledger=settings.data_dir / REFUND_LEDGER)
