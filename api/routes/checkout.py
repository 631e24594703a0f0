"""The offline provider's checkout pages (used when no Stripe key is configured).

``checkout_url`` opens a page with the item, its price and a Pay button; paying delivers a
signed ``checkout.session.completed`` through the webhook's own code path. The return pages
(``complete``, ``cancelled``) also serve Stripe's success and cancel redirects.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.deps import StateDep, prefers_html
from api.errors import documented_as_json
from microcred import currency
from microcred.errors import InvalidState, NotFound
from microcred.models import PaymentStatus
from microcred.payments import webhooks

router = APIRouter(tags=["checkout"])
TO_THE_APP: dict[int | str, dict[str, Any]] = {
    303: {"description": "To the micro-credential in the web app."}
}
UNKNOWN_CHECKOUT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such checkout: a page that says so.", "content": {"text/html": {}}}
}
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")


@router.get(
    "/checkout/complete",
    response_class=HTMLResponse,
    response_model=None,
    responses={**TO_THE_APP, **UNKNOWN_CHECKOUT},
)
async def checkout_complete(request: Request, state: StateDep, session_id: str = "") -> Response:
    """Where a completed checkout returns to (Stripe's ``success_url`` too): the micro-credential
    in the web app, which says "payment processing" until the payment's webhook has arrived."""
    enrolment_id = await asyncio.to_thread(webhooks.checkout_enrolment, state.sessions, session_id)
    if enrolment_id is None:
        return templates.TemplateResponse(
            request,
            "checkout_result.html",
            {
                "heading": "Checkout not found",
                "message": "We know no checkout by this link. Your enrolments and their payments are in "
                "My Learning.",
                "app_url": f"{state.settings.public_base_url}/learning",
            },
            status_code=404,
        )
    return RedirectResponse(app_page(state, enrolment_id, "complete"), status_code=303)


@router.get("/checkout/cancelled", response_class=HTMLResponse, response_model=None, responses=TO_THE_APP)
def checkout_cancelled(request: Request, state: StateDep, enrolment_id: str = "") -> Response:
    """Where an abandoned checkout returns to: the micro-credential, whose checkout can be resumed."""
    if enrolment_id:
        return RedirectResponse(app_page(state, enrolment_id, "cancelled"), status_code=303)
    return templates.TemplateResponse(
        request,
        "checkout_result.html",
        {
            "heading": "Checkout not completed",
            "message": "Nothing was charged. You can resume paying from the micro-credential in My Learning "
            "until the payment window ends.",
            "app_url": f"{state.settings.public_base_url}/learning",
        },
    )


def app_page(state: StateDep, enrolment_id: str, checkout: str) -> str:
    """The micro-credential's page in the web app, told how its checkout ended."""
    return f"{state.settings.public_base_url}/learning/{quote(enrolment_id, safe='')}?checkout={checkout}"


@router.get("/checkout/{session_id}", response_class=HTMLResponse, responses=documented_as_json(404))
async def checkout_page(session_id: str, request: Request, state: StateDep) -> HTMLResponse:
    """The offline checkout page of one session."""
    _offline_only(state)
    payment, title = await asyncio.to_thread(webhooks.open_checkout, state.sessions, session_id=session_id)
    expired = payment.expires_at <= datetime.now(UTC)
    payable = payment.status == PaymentStatus.OPEN and not expired
    closed = {
        PaymentStatus.PAID: "This checkout is paid.",
        PaymentStatus.REFUNDED: "This payment was refunded.",
    }
    return templates.TemplateResponse(
        request,
        "checkout.html",
        {
            "title": title,
            "kind_label": "Resubmission" if payment.kind == "resubmission" else "Micro-credential",
            "attempt": payment.attempt,
            "price": currency.readable(payment.amount, payment.currency),
            "payable": payable,
            "pay_url": f"{state.settings.api_base_url}/checkout/{session_id}/pay",
            "back_url": app_page(state, payment.enrolment_id, "cancelled"),
            "expires_at": f"{payment.expires_at:%d %B %Y, %H:%M UTC}",
            "closed_reason": closed.get(payment.status, "This checkout has expired."),
        },
    )


@router.post(
    "/checkout/{session_id}/pay",
    status_code=303,
    response_class=RedirectResponse,
    responses=documented_as_json(404, 409),
)
async def pay(session_id: str, request: Request, state: StateDep) -> RedirectResponse:
    """The Pay button: sends the signed completion event through the webhook code."""
    _offline_only(state)
    try:
        await webhooks.pay_offline(
            session_id=session_id,
            secret=state.settings.stripe_webhook_secret.get_secret_value(),
            sessions=state.sessions,
            workflows=state.workflows,
        )
    except InvalidState:
        if not prefers_html(request.headers.get("accept", "")):
            raise  # 409 for API clients
        # A browser (a second click, an expired page): back to the page, which says why.
        return RedirectResponse(f"{state.settings.api_base_url}/checkout/{session_id}", status_code=303)
    return RedirectResponse(
        f"{state.settings.api_base_url}/checkout/complete?session_id={session_id}", status_code=303
    )


def _offline_only(state: StateDep) -> None:
    if state.settings.stripe_enabled:
        raise NotFound("checkout pages are served by Stripe in this deployment")
