"""Dependencies of the routes: the app's long-lived clients, the session, the caller."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.ratelimit import RateLimits
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import SessionFactory, reading
from microcred.errors import Forbidden, Unauthenticated
from microcred.identity import Principal, Role
from microcred.pagination import DEFAULT_LIMIT, MAX_LIMIT
from microcred.services.evidence import Evidence
from microcred.temporal.client import WorkflowClient


@dataclass
class AppState:
    """Built once in the lifespan (or by tests) and shared by every request."""

    settings: Settings
    sessions: SessionFactory
    workflows: WorkflowClient
    verifier: TokenVerifier
    issuer: BadgeIssuer
    # The evidence files' store and limits; from the settings unless given (tests pass their own).
    evidence: Evidence = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.evidence is None:
            self.evidence = Evidence.from_settings(self.settings)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.microcred
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(state: StateDep) -> Iterator[Session]:
    with reading(state.sessions) as session:
        yield session


# For routes that only read (see db.reading).
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_evidence(state: StateDep) -> Evidence:
    return state.evidence


EvidenceDep = Annotated[Evidence, Depends(get_evidence)]

_bearer = HTTPBearer(auto_error=False, description="A JWT with sub and role (member, evaluator, admin).")


async def current_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <token>")
    principal = await state.verifier.verify(credentials.credentials)
    # Counted here, once the token is verified: a forged one spends nobody's allowance.
    limits: RateLimits = request.app.state.rate_limits
    await limits.by_member(request, principal.sub)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    allowed = ", ".join(r.value for r in roles)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this needs the role {allowed}", role=principal.role.value)
        return principal

    return check


MemberDep = Annotated[Principal, Depends(require(Role.MEMBER))]
EvaluatorDep = Annotated[Principal, Depends(require(Role.EVALUATOR))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
OwnerOrAdminDep = Annotated[Principal, Depends(require(Role.MEMBER, Role.ADMIN))]


@dataclass(frozen=True)
class PageQuery:
    """The query of a paginated list: where to start, and how many items at most."""

    cursor: Annotated[
        str | None,
        Query(max_length=500, description="`next_cursor` of the previous page; omit for the first."),
    ] = None
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT


PageDep = Annotated[PageQuery, Depends()]


def prefers_html(accept: str) -> bool:
    """Whether an Accept header ranks text/html above JSON (a browser opening a shared link)."""
    html = json = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "text/*", "*/*"):
            html = max(html, q if media == "text/html" else q - 0.001)
        if media in ("application/json", "application/*", "*/*"):
            json = max(json, q if media == "application/json" else q - 0.001)
    return html > json
