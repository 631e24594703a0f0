"""Routes: badges (public, except revocation and the earner's display choice) and the issuer's JWK Set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import AdminDep, MemberDep, SessionDep, StateDep, prefers_html
from api.errors import documented
from microcred.services import badges
from microcred.services.badges import (
    BadgeDisplay,
    BadgeDisplayUpdate,
    BadgePublic,
    EvidencePublic,
    JwksPublic,
    ProfilePublic,
    RevocationPublic,
    RevokeRequest,
    VerificationPublic,
)

router = APIRouter(tags=["badges"])
wellknown = APIRouter(tags=["badges"])

_pages = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such badge."}}


@router.get(
    "/badges/{badge_id}",
    response_model=BadgePublic,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The badge."},
        **_NOT_FOUND,
    },
)
def get_badge(
    badge_id: str, request: Request, response: Response, session: SessionDep, state: StateDep
) -> BadgePublic | HTMLResponse:
    """The badge: its Open Badges 3.0 credential (decoded) and the signed VC-JWT.

    A client that prefers ``text/html`` (a browser opening a shared link) gets the badge's web page:
    the achievement, the issuer, the date, the verification result and "Add to LinkedIn profile".
    """
    if prefers_html(request.headers.get("accept", "")):
        page = badges.page(session, issuer=state.issuer, badge_id=badge_id, now=datetime.now(UTC))
        html = _pages.get_template("badge.html").render(page=page)
        return HTMLResponse(html, headers={"Vary": "Accept"})
    response.headers["Vary"] = "Accept"
    return badges.public(session, issuer=state.issuer, badge_id=badge_id)


@router.get("/badges/{badge_id}/verify", response_model=VerificationPublic, responses=_NOT_FOUND)
def verify_badge(badge_id: str, session: SessionDep, state: StateDep) -> VerificationPublic:
    """Verify a badge now: revocation, the RS256 signature, the JWT claims against the body, the dates."""
    return badges.verify(session, issuer=state.issuer, badge_id=badge_id, now=datetime.now(UTC))


@router.post(
    "/badges/{badge_id}/revoke",
    response_model=RevocationPublic,
    responses={**_NOT_FOUND, **documented(401, 403)},
)
def revoke_badge(
    badge_id: str, body: RevokeRequest, session: SessionDep, admin: AdminDep
) -> RevocationPublic:
    """Admin: revoke a badge with a reason; verification fails with that reason from now on."""
    with session.begin():
        return badges.revoke(
            session, badge_id=badge_id, reason=body.reason, actor=admin.sub, now=datetime.now(UTC)
        )


@router.put(
    "/badges/{badge_id}/display",
    response_model=BadgeDisplay,
    responses={**_NOT_FOUND, **documented(401, 403, 422)},
)
def set_badge_display(
    badge_id: str, body: BadgeDisplayUpdate, session: SessionDep, member: MemberDep
) -> BadgeDisplay:
    """Member: show or hide your name on your badge's public page, and your work on its evidence
    page (private until you choose).

    Display only: the signed credential and its verification stay exactly as issued. Another
    member's badge answers 404, as a missing one does.
    """
    with session.begin():
        return badges.set_display(
            session,
            badge_id=badge_id,
            member_id=member.sub,
            show_name=body.show_name,
            show_evidence=body.show_evidence,
        )


@router.get("/badges/{badge_id}/evidence", response_model=EvidencePublic, responses=_NOT_FOUND)
def badge_evidence(badge_id: str, session: SessionDep, state: StateDep) -> EvidencePublic:
    """The approved submission the badge's evidence points at, with its marked rubric: only when
    the member chose to show it (404 otherwise, and once the badge is revoked)."""
    return badges.evidence(session, issuer=state.issuer, badge_id=badge_id)


@router.get("/issuer", response_model=ProfilePublic, response_model_by_alias=True)
def issuer_profile(state: StateDep) -> ProfilePublic:
    """The issuer profile that every badge names as its ``issuer``."""
    return badges.profile(issuer=state.issuer)


@wellknown.get("/.well-known/jwks.json", response_model=JwksPublic)
def jwks(session: SessionDep, state: StateDep) -> JwksPublic:
    """The public keys of every badge signing key ever used (old kids stay, so old badges verify)."""
    return badges.jwks(session, issuer=state.issuer)
