"""Settings shared by the API, the worker and the commands (environment prefix ``MICROCRED_``).

Nothing reads the environment at import time: callers build ``Settings()`` once and inject it.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_AUTH_SECRET = "dev-only-auth-secret-change-me-please-0123456789"
DEV_WEBHOOK_SECRET = "whsec_dev_only_change_me"
# A secret that protects something real: at least this long (HS256 keys want 32 bytes or more).
MIN_SECRET_BYTES = 32


def _refuse_weak(name: str, value: SecretStr | None) -> None:
    if value is None:
        return
    secret = value.get_secret_value()
    if secret in (DEV_AUTH_SECRET, DEV_WEBHOOK_SECRET):
        raise ValueError(f"MICROCRED_{name.upper()} still holds the development placeholder")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"MICROCRED_{name.upper()} is too short: use at least {MIN_SECRET_BYTES} bytes")


MIB = 1024 * 1024
# S3 refuses parts under 5 MiB (but the last); 10,000 parts at most per upload.
MIN_PART_BYTES = 5 * MIB
MAX_PART_BYTES = 512 * MIB

# Which of the provider's tokens the web app sends as its bearer token.
Bearer = Literal["id_token", "access_token"]


def _rate_limit(value: str) -> str:
    """A rate limit in the ``limits`` notation: ``120/minute``, or several: ``10/second;120/minute``."""
    parse_many(value)  # ValueError names the text it could not read
    return value


RateLimit = Annotated[str, AfterValidator(_rate_limit)]


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of microcred; see the README's configuration table."""

    # An empty variable counts as unset (MICROCRED_STRIPE_SECRET_KEY= must not switch Stripe on).
    model_config = SettingsConfigDict(env_prefix="MICROCRED_", extra="ignore", env_ignore_empty=True)

    environment: Environment = Environment.DEV
    data_dir: Path = Path(".microcred")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; a SQLite file in the data folder when unset."
    )
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str | None = Field(
        default=None,
        description="The Temporal Web UI (e.g. http://localhost:8233), for links from the admins' "
        "enrolment page to its workflow; none when unset.",
    )
    task_queue: str = "microcred"
    auth_secret: SecretStr | None = Field(default=None, description="HS256 key for bearer tokens.")
    auth_jwks_url: str | None = Field(default=None, description="RS256 keys for bearer tokens.")
    auth_audience: str | None = Field(
        default=None, description="The aud that RS256 tokens must carry; MICROCRED_OIDC_CLIENT_ID when unset."
    )
    auth_issuer: str | None = Field(
        default=None, description="The iss that RS256 tokens must carry; MICROCRED_OIDC_ISSUER when unset."
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect provider the web app signs in with; its keys are discovered from "
        "<issuer>/.well-known/openid-configuration unless MICROCRED_AUTH_JWKS_URL is set.",
    )
    oidc_client_id: str | None = Field(default=None, description="The web app's client id at the provider.")
    oidc_scope: str = "openid profile email"
    oidc_bearer: Bearer = Field(
        default="id_token",
        description="The token the web app sends: the ID token, or the access token of providers "
        "that issue JWT access tokens for an API audience (then set MICROCRED_AUTH_AUDIENCE).",
    )
    stripe_secret_key: SecretStr | None = None
    offline_payments: bool = Field(
        default=False,
        description="Production without a Stripe key: serve checkouts offline, where anyone can press "
        "Pay (a demo). Dev and tests use the offline provider whenever no key is set.",
    )
    stripe_webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    stripe_api_base: str = "https://api.stripe.com"
    public_base_url: str = "http://localhost:8000"
    smtp_url: str | None = Field(default=None, description="smtp://user:pass@host:port, smtps:// for TLS.")
    mail_from: str = "microcred <no-reply@microcred.local>"
    admin_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated addresses that receive escalations."
    )
    badge_signing_key: SecretStr | None = Field(
        default=None, description="PEM RSA private key (or a path to one) that signs badges."
    )
    badge_issuer_name: str = "microcred"
    log_level: str = "INFO"
    log_json: bool = True
    metrics_port: int | None = Field(default=None, description="Worker Prometheus port; none when unset.")
    max_cached_workflows: int = Field(default=1000, description="Worker sticky cache size.")
    max_concurrent_activities: int = Field(
        default=32, description="Activities run at once by one worker (also its thread pool size)."
    )
    web_dir: Path | None = Field(
        default=None, description="The built web app the API serves at /; frontend/dist when unset."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins of other web clients allowed to call the API from a browser.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis (redis:// or rediss://) where every API process counts the rate limits; "
        "unset: each process counts in its own memory.",
    )
    rate_limit_member: RateLimit = Field(
        default="120/minute",
        description="Writes (POST, PUT, PATCH, DELETE under /api/v1) one signed-in person may make.",
    )
    rate_limit_ip: RateLimit = Field(
        default="600/minute", description="Writes one client address may make, signed in or not."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token the API's /metrics requires; unset: /metrics is open in dev and "
        "test, and not served in production.",
    )
    api_docs: bool | None = Field(
        default=None,
        description="Serve /docs, /redoc and /openapi.json; unset: in dev and test, not in production.",
    )

    # ---- evidence files (docs/evidence.md) ----
    s3_bucket: str | None = Field(
        default=None,
        description="The bucket holding evidence files on an S3 API; unset: a folder in the data directory.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="The S3 API the services call (e.g. http://minio:9000); unset: AWS's."
    )
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="The S3 API as browsers reach it: signed upload and download URLs point there "
        "(MICROCRED_S3_ENDPOINT_URL when unset).",
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = Field(default=None, description="Unset: boto3's usual credential chain.")
    s3_secret_access_key: SecretStr | None = None
    storage_secret: SecretStr | None = Field(
        default=None,
        description="Signs the upload and download URLs of the data-folder store; unset: a key derived "
        "from MICROCRED_AUTH_SECRET, else from MICROCRED_BADGE_SIGNING_KEY.",
    )
    evidence_quota_bytes: int = Field(
        default=5 * 1024 * MIB, ge=0, description="Evidence bytes one enrolment may hold (all its tasks)."
    )
    evidence_part_bytes: int = Field(
        default=16 * MIB,
        ge=MIN_PART_BYTES,
        le=MAX_PART_BYTES,
        description="Files larger than this upload in parts of this size (resumable).",
    )
    evidence_upload_ttl: timedelta = Field(
        default=timedelta(hours=1), description="How long a signed upload URL stays valid."
    )
    evidence_download_ttl: timedelta = Field(
        default=timedelta(minutes=5), description="How long a signed download URL stays valid."
    )
    evidence_stale_after: timedelta = Field(
        default=timedelta(days=1), description="Uploads not completed by then are removed."
    )

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        for name in ("admin_emails", "cors_origins"):
            if isinstance(data, dict) and isinstance(data.get(name), str):
                data[name] = [part.strip() for part in data[name].split(",") if part.strip()]
        return data

    @model_validator(mode="after")
    def _refuse_placeholders_outside_dev(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.auth_secret is None and not self.verifies_provider_tokens:
                raise ValueError(
                    "set MICROCRED_AUTH_SECRET, MICROCRED_AUTH_JWKS_URL or MICROCRED_OIDC_ISSUER "
                    "in production"
                )
            for name in ("auth_secret", "stripe_webhook_secret"):
                _refuse_weak(name, getattr(self, name))
            if self.badge_signing_key is None:
                raise ValueError("set MICROCRED_BADGE_SIGNING_KEY in production")
            _refuse_weak("storage_secret", self.storage_secret)
            if self.stripe_secret_key is None and not self.offline_payments:
                # The offline checkout page lets anyone mark a checkout paid: never by omission.
                raise ValueError(
                    "set MICROCRED_STRIPE_SECRET_KEY in production, or MICROCRED_OFFLINE_PAYMENTS=true "
                    "for a demo in which nobody pays"
                )
        return self

    @model_validator(mode="after")
    def _refuse_forgeable_payments(self) -> Settings:
        # With a real Stripe account the webhook moves real money: in every environment, its
        # signature must be Stripe's, never the public placeholder anyone could sign with.
        if self.stripe_secret_key is not None:
            try:
                _refuse_weak("stripe_webhook_secret", self.stripe_webhook_secret)
            except ValueError as weak:
                raise ValueError(
                    f"{weak}: with MICROCRED_STRIPE_SECRET_KEY set, it must be the signing secret of "
                    "your Stripe webhook endpoint (whsec_..., shown in the dashboard or by `stripe "
                    "listen`), or anyone could sign a payment"
                ) from None
        return self

    @model_validator(mode="after")
    def _refuse_half_configured_sign_in(self) -> Settings:
        if (self.oidc_issuer is None) != (self.oidc_client_id is None):
            raise ValueError("set MICROCRED_OIDC_ISSUER and MICROCRED_OIDC_CLIENT_ID together, or neither")
        if self.environment is Environment.PRODUCTION and self.verifies_provider_tokens:
            # Unchecked, a token that the provider issued to any of its applications would do.
            missing = [
                name
                for name, value in (
                    ("MICROCRED_AUTH_AUDIENCE", self.token_audience),
                    ("MICROCRED_AUTH_ISSUER", self.token_issuer),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"set {' and '.join(missing)} in production: provider tokens are checked for the "
                    "audience and the issuer they were issued for (MICROCRED_OIDC_CLIENT_ID and "
                    "MICROCRED_OIDC_ISSUER provide both)"
                )
        return self

    def environ(self) -> dict[str, str]:
        """These settings as ``MICROCRED_*`` variables, the way a parent hands them to a child
        process (``microcred dev`` to its worker and API): ``Settings()`` there reads them back."""
        found: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list):
                text = ",".join(value)
            elif isinstance(value, timedelta):
                text = f"PT{value.total_seconds():g}S"  # ISO 8601, which Settings reads back
            else:
                text = str(value)
            found[f"MICROCRED_{name.upper()}"] = text
        return found

    @property
    def storage_signing_secret(self) -> str | None:
        """The secret the data-folder store derives its URL-signing key from (a key of its own,
        so a secret shared with another purpose signs nothing else's); None when there is none."""
        secret = self.storage_secret or self.auth_secret or self.badge_signing_key
        return secret.get_secret_value() if secret is not None else None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'microcred.db').resolve()}"

    @property
    def verifies_provider_tokens(self) -> bool:
        """Whether RS256 tokens of an identity provider are accepted (its keys known or discoverable)."""
        return self.auth_jwks_url is not None or self.oidc_issuer is not None

    @property
    def token_audience(self) -> str | None:
        """The ``aud`` that provider tokens must carry, if any."""
        return self.auth_audience or self.oidc_client_id

    @property
    def token_issuer(self) -> str | None:
        """The ``iss`` that provider tokens must carry, if any."""
        return self.auth_issuer or self.oidc_issuer

    @property
    def dev_sign_in(self) -> bool:
        """Whether anyone may sign in as anyone (``POST /auth/dev-token``): dev and test only."""
        return self.environment in (Environment.DEV, Environment.TEST) and self.auth_secret is not None

    @property
    def serves_api_docs(self) -> bool:
        """Whether the API serves its documentation pages and OpenAPI document."""
        if self.api_docs is not None:
            return self.api_docs
        return self.environment is not Environment.PRODUCTION

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_secret_key is not None

    @property
    def api_base_url(self) -> str:
        return self.public_base_url.rstrip("/") + "/api/v1"
