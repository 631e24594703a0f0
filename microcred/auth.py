"""Bearer tokens: HS256 signed with ``MICROCRED_AUTH_SECRET`` (dev sign-in, ``microcred token``), or
RS256 tokens of an identity provider, checked for their audience and issuer when those are configured.

The provider's keys come from ``MICROCRED_AUTH_JWKS_URL``, or from the ``jwks_uri`` that
``MICROCRED_OIDC_ISSUER`` publishes in its discovery document, fetched on first use so that the API
starts while the provider is down.
"""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from pydantic import ValidationError

from microcred.config import Settings
from microcred.errors import Unauthenticated, Unavailable
from microcred.identity import Principal, Role

LEEWAY = timedelta(seconds=30)
DEV_TOKEN_TTL = timedelta(hours=12)
DISCOVERY_TIMEOUT = 10.0


class TokenVerifier:
    """Verifies bearer tokens and turns their claims into a Principal."""

    def __init__(
        self,
        *,
        secret: str | None,
        jwks_url: str | None,
        discover_from: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        if not secret and not jwks_url and not discover_from:
            raise ValueError(
                "configure MICROCRED_AUTH_SECRET, MICROCRED_AUTH_JWKS_URL or MICROCRED_OIDC_ISSUER"
            )
        self._secret = secret
        self._jwks_url = jwks_url
        self._discover_from = discover_from
        self._audience = audience
        self._issuer = issuer
        self._jwks: jwt.PyJWKClient | None = None
        self._jwks_lock = threading.Lock()  # one discovery at a time; requests verify on threads

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(
            secret=settings.auth_secret.get_secret_value() if settings.auth_secret else None,
            jwks_url=settings.auth_jwks_url,
            discover_from=settings.oidc_issuer,
            audience=settings.token_audience,
            issuer=settings.token_issuer,
        )

    async def verify(self, token: str) -> Principal:
        if (self._jwks_url or self._discover_from) and _algorithm(token) == "RS256":
            # Fetching the discovery document and the key set is blocking I/O: off the event loop.
            return await asyncio.to_thread(self._verify_rs256, token)
        return self._verify_hs256(token)

    def _verify_hs256(self, token: str) -> Principal:
        if not self._secret:
            raise Unauthenticated("this deployment accepts RS256 tokens only")
        # Dev tokens name no audience or issuer: only the secret vouches for them.
        return _principal(_claims(token, self._secret, "HS256"))

    def _verify_rs256(self, token: str) -> Principal:
        key = self._signing_key(token)
        return _principal(_claims(token, key, "RS256", audience=self._audience, issuer=self._issuer))

    def _signing_key(self, token: str) -> Any:
        keys = self._key_set()
        try:
            if jwt.get_unverified_header(token).get("kid") is None:
                # A provider with a single key may leave kid out (OpenID Connect Core 10.1).
                found = keys.get_signing_keys()
                if len(found) != 1:
                    raise Unauthenticated("the token names no key (kid) and the provider has several")
                return found[0].key
            return keys.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable("the identity provider's keys cannot be fetched; try again") from exc
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
            raise Unauthenticated(f"no key to verify this token: {exc}") from exc

    def _key_set(self) -> jwt.PyJWKClient:
        """The provider's key set (PyJWKClient caches it and refetches on an unknown kid)."""
        with self._jwks_lock:
            if self._jwks is None:
                url = self._jwks_url
                if url is None:
                    assert self._discover_from is not None  # verify() comes here with one of the two
                    url = _discover_jwks_uri(self._discover_from)
                self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300)
            return self._jwks


def _discover_jwks_uri(issuer: str) -> str:
    """The ``jwks_uri`` of the provider's discovery document; a failure is retried by the next token."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=DISCOVERY_TIMEOUT, follow_redirects=True)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable("the identity provider cannot be reached; try again") from exc
    jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
    if not isinstance(jwks_uri, str):
        raise Unavailable(f"the identity provider's {url} names no jwks_uri")
    return jwks_uri


def _claims(
    token: str, key: Any, algorithm: str, *, audience: str | None = None, issuer: str | None = None
) -> dict[str, Any]:
    required = ["sub", "exp", *(["aud"] if audience else []), *(["iss"] if issuer else [])]
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("the token is for another audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthenticated("the token is from another issuer") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"the token has no {exc.claim} claim") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc


def _principal(claims: dict[str, Any]) -> Principal:
    try:
        return Principal.model_validate(
            {k: claims.get(k) for k in ("sub", "role", "email", "name") if claims.get(k) is not None}
        )
    except ValidationError as exc:
        raise Unauthenticated(
            "the token needs a sub (at most 200 characters) and a role of member, evaluator or "
            "admin; an email of at most 320 characters and a name of at most 200"
        ) from exc


def _algorithm(token: str) -> str | None:
    try:
        return str(jwt.get_unverified_header(token).get("alg"))
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc


def issue_token(
    secret: str,
    *,
    sub: str,
    role: Role,
    email: str | None = None,
    name: str | None = None,
    ttl: timedelta = timedelta(days=30),
    now: datetime | None = None,
) -> str:
    """An HS256 token for development, tests and ``microcred token``."""
    now = now or datetime.now(UTC)
    claims: dict[str, object] = {"sub": sub, "role": role.value, "iat": now, "exp": now + ttl}
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm="HS256")


def issue_dev_token(
    secret: str, *, sub: str, role: Role, name: str | None = None, email: str | None = None
) -> tuple[str, datetime]:
    """The dev sign-in's token, valid for ``DEV_TOKEN_TTL``, and when it expires. The name defaults
    to the sub made readable, the email to ``<sub>@example.org``."""
    now = datetime.now(UTC).replace(microsecond=0)  # exp is in whole seconds: say exactly when
    token = issue_token(
        secret,
        sub=sub,
        role=role,
        email=email or f"{sub}@example.org",
        name=name or display_name(sub),
        ttl=DEV_TOKEN_TTL,
        now=now,
    )
    return token, now + DEV_TOKEN_TTL


def display_name(sub: str) -> str:
    """A sub made readable: ``demo-member`` → ``Demo Member``."""
    return " ".join(word.capitalize() for word in re.split(r"[-_.\s]+", sub) if word) or sub
