"""Bearer tokens: HS256 with ``MICROCRED_AUTH_SECRET`` or RS256 keys from ``MICROCRED_AUTH_JWKS_URL``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import ValidationError

from microcred.config import Settings
from microcred.errors import Unauthenticated
from microcred.identity import Principal, Role

LEEWAY = timedelta(seconds=30)


class TokenVerifier:
    """Verifies bearer tokens and turns their claims into a Principal."""

    def __init__(self, *, secret: str | None, jwks_url: str | None) -> None:
        if not secret and not jwks_url:
            raise ValueError("configure MICROCRED_AUTH_SECRET or MICROCRED_AUTH_JWKS_URL")
        self._secret = secret
        # PyJWKClient caches the key set and refetches on an unknown kid.
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
        return cls(secret=secret, jwks_url=settings.auth_jwks_url)

    async def verify(self, token: str) -> Principal:
        if self._jwks is not None and _algorithm(token) == "RS256":
            # Fetching the key set is blocking I/O: keep it off the event loop.
            return await asyncio.to_thread(self._verify_rs256, token)
        return self._verify_hs256(token)

    def _verify_hs256(self, token: str) -> Principal:
        if not self._secret:
            raise Unauthenticated("this deployment accepts RS256 tokens only")
        return self._principal(token, self._secret, "HS256")

    def _verify_rs256(self, token: str) -> Principal:
        assert self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"no key to verify this token: {exc}") from exc
        return self._principal(token, key, "RS256")

    @staticmethod
    def _principal(token: str, key: object, algorithm: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                leeway=LEEWAY,
                options={"require": ["sub", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
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
) -> str:
    """An HS256 token for development, tests and ``microcred token``."""
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": sub, "role": role.value, "iat": now, "exp": now + ttl}
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm="HS256")
