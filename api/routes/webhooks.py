"""Stripe's webhook (the offline provider delivers the same events through the same code)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from api.deps import StateDep
from microcred.payments import webhooks

router = APIRouter(tags=["webhooks"])


class WebhookAck(BaseModel):
    received: bool
    event_id: str
    outcome: str


@router.post(
    "/webhooks/stripe",
    response_model=WebhookAck,
    responses={400: {"description": "Bad signature or payload."}},
)
async def stripe_webhook(
    request: Request,
    state: StateDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """Receive a signed Stripe event; duplicates and unknown event types are acknowledged."""
    result = await webhooks.handle(
        payload=await request.body(),
        signature=stripe_signature,
        secret=state.settings.stripe_webhook_secret.get_secret_value(),
        sessions=state.sessions,
        workflows=state.workflows,
    )
    return WebhookAck(received=True, event_id=result.event_id, outcome=result.outcome)
