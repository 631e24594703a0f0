"""Signing in: how the web app signs people in, and in dev and test deployments only, a token for
anyone (production has no such path at all, so it answers 404 like any unknown path)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from api.deps import StateDep
from api.schemas import Request
from microcred import demo
from microcred.auth import display_name, issue_dev_token
from microcred.config import Bearer, Settings
from microcred.errors import NotFound
from microcred.identity import Role, Subject

router = APIRouter(tags=["auth"])
dev_router = APIRouter(tags=["auth"])


class DemoPerson(BaseModel):
    sub: str
    role: Role
    name: str


class OidcPublic(BaseModel):
    issuer: str
    client_id: str
    scope: str
    bearer: Bearer = Field(description="The token to send as the bearer token: the ID or the access token.")


class AuthConfig(BaseModel):
    dev_sign_in: bool = Field(description="Whether POST /auth/dev-token signs in as anyone (dev and test).")
    demo_people: list[DemoPerson]
    oidc: OidcPublic | None = Field(description="The OpenID Connect provider, when one is configured.")


class DevTokenRequest(Request):
    sub: Subject
    role: Role
    name: str | None = Field(default=None, max_length=200, description="The sub made readable if omitted.")
    email: str | None = Field(default=None, max_length=320, description="<sub>@example.org if omitted.")


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


def include(app: FastAPI, settings: Settings, prefix: str) -> None:
    """The sign-in routes under ``prefix``, the dev sign-in only where ``settings`` enable it."""
    app.include_router(router, prefix=prefix)
    if settings.dev_sign_in:
        app.include_router(dev_router, prefix=prefix)


@router.get("/auth/config", response_model=AuthConfig)
async def auth_config(state: StateDep) -> AuthConfig:
    """How to sign in (no token needed): the OpenID Connect provider, and in dev and test
    deployments the dev sign-in with its demo people."""
    settings = state.settings
    oidc = None
    if settings.oidc_issuer and settings.oidc_client_id:
        oidc = OidcPublic(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            scope=settings.oidc_scope,
            bearer=settings.oidc_bearer,
        )
    people = [DemoPerson(sub=sub, role=role, name=display_name(sub)) for sub, role in demo.PEOPLE]
    return AuthConfig(
        dev_sign_in=settings.dev_sign_in, demo_people=people if settings.dev_sign_in else [], oidc=oidc
    )


@dev_router.post("/auth/dev-token", response_model=TokenPublic, status_code=201)
async def dev_token(body: DevTokenRequest, state: StateDep) -> TokenPublic:
    """Dev and test deployments only: a 12-hour token for anyone, in any role."""
    settings = state.settings
    if not settings.dev_sign_in or settings.auth_secret is None:
        raise NotFound("not found")  # included by mistake: answer as production does
    token, expires_at = issue_dev_token(
        settings.auth_secret.get_secret_value(),
        sub=body.sub,
        role=body.role,
        name=body.name,
        email=body.email,
    )
    return TokenPublic(access_token=token, expires_at=expires_at)
