"""Settings handed to a child process through the environment come back whole."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from microcred.config import DEV_AUTH_SECRET, Environment, Settings


def test_environ_round_trips_every_kind_of_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(
        environment=Environment.TEST,
        data_dir=Path("/tmp/somewhere"),
        database_url="postgresql+psycopg://u:p@db:5432/app",
        auth_secret=SecretStr("s3cret-" * 6),
        stripe_secret_key=SecretStr("sk_test_123"),
        stripe_webhook_secret=SecretStr("whsec_" + "w" * 32),
        admin_emails=["a@example.org", "b@example.org"],
        log_json=False,
        metrics_port=9464,
        max_cached_workflows=17,
        redis_url="redis://cache:6379/1",
        rate_limit_member="10/second;100/minute",
        metrics_token=SecretStr("m" * 40),
        api_docs=False,
    )
    for name in list(os.environ):
        if name.startswith("MICROCRED_"):
            monkeypatch.delenv(name)
    for name, value in original.environ().items():
        monkeypatch.setenv(name, value)

    assert Settings() == original


def test_environ_leaves_unset_settings_out() -> None:
    environ = Settings(environment=Environment.TEST).environ()
    assert "MICROCRED_DATABASE_URL" not in environ and "MICROCRED_STRIPE_SECRET_KEY" not in environ
    assert environ["MICROCRED_ENVIRONMENT"] == "test" and environ["MICROCRED_LOG_JSON"] == "true"


def production(**overrides: object) -> Settings:
    """Production settings that start, but for what ``overrides`` change."""
    fields: dict[str, object] = {
        "environment": Environment.PRODUCTION,
        "auth_secret": SecretStr("s3cret-" * 6),
        "badge_signing_key": SecretStr("a PEM key"),
        "offline_payments": True,
        "stripe_webhook_secret": SecretStr("whsec_0123456789abcdef0123456789abcdef"),
    }
    return Settings.model_validate({**fields, **overrides})


@pytest.mark.parametrize("half", [{"oidc_issuer": "https://id.example.org"}, {"oidc_client_id": "web"}])
def test_an_oidc_provider_needs_its_issuer_and_client_id(half: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="MICROCRED_OIDC_ISSUER and MICROCRED_OIDC_CLIENT_ID together"):
        Settings(environment=Environment.TEST, **half)


def test_provider_tokens_need_an_audience_and_an_issuer_in_production() -> None:
    jwks: dict[str, Any] = {"auth_jwks_url": "https://id.example.org/jwks"}
    with pytest.raises(
        ValidationError, match="set MICROCRED_AUTH_AUDIENCE and MICROCRED_AUTH_ISSUER in production"
    ):
        production(**jwks)
    with pytest.raises(ValidationError, match="set MICROCRED_AUTH_ISSUER in production"):
        production(**jwks, auth_audience="api")
    with pytest.raises(ValidationError, match="set MICROCRED_AUTH_AUDIENCE in production"):
        production(**jwks, auth_issuer="https://id.example.org")
    explicit = production(**jwks, auth_audience="api", auth_issuer="https://id.example.org")
    assert (explicit.token_audience, explicit.token_issuer) == ("api", "https://id.example.org")
    # Outside production a JWKS URL alone still does, for a provider under test.
    assert Settings(environment=Environment.TEST, **jwks).token_audience is None


def test_the_oidc_provider_gives_the_audience_and_issuer_their_defaults() -> None:
    oidc = {"oidc_issuer": "https://id.example.org", "oidc_client_id": "web"}
    settings = production(auth_secret=None, **oidc)  # the provider's tokens alone sign people in
    assert (settings.token_audience, settings.token_issuer) == ("web", "https://id.example.org")
    assert settings.verifies_provider_tokens and not settings.dev_sign_in
    access_tokens = production(**oidc, oidc_bearer="access_token", auth_audience="https://api.example.org")
    assert access_tokens.token_audience == "https://api.example.org"


def test_production_needs_some_way_to_verify_tokens() -> None:
    with pytest.raises(
        ValidationError, match="MICROCRED_AUTH_SECRET, MICROCRED_AUTH_JWKS_URL or MICROCRED_OIDC_ISSUER"
    ):
        production(auth_secret=None)


def test_dev_sign_in_is_for_dev_and_test_with_a_secret() -> None:
    secret = SecretStr("s3cret-" * 6)
    assert Settings(environment=Environment.DEV, auth_secret=secret).dev_sign_in
    assert Settings(environment=Environment.TEST, auth_secret=secret).dev_sign_in
    assert not Settings(environment=Environment.TEST, auth_secret=None).dev_sign_in
    assert not production().dev_sign_in


# --- secrets that protect something real (issue 17, fault 4) ------------------------------------


@pytest.mark.parametrize("environment", list(Environment))
def test_a_stripe_account_needs_its_own_webhook_secret_in_every_environment(environment: Environment) -> None:
    """With the public placeholder, a member could sign a completed checkout for their own
    session and get the credential free."""
    base: dict[str, Any] = {"environment": environment, "stripe_secret_key": SecretStr("sk_test_x")}
    if environment is Environment.PRODUCTION:
        base |= {"auth_secret": SecretStr("a" * 40), "badge_signing_key": SecretStr("pem")}
    with pytest.raises(
        ValidationError, match="STRIPE_WEBHOOK_SECRET still holds the development placeholder"
    ):
        Settings(**base)
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET is too short"):
        Settings(**base, stripe_webhook_secret=SecretStr("whsec_short"))
    assert Settings(**base, stripe_webhook_secret=SecretStr("whsec_" + "k" * 32)).stripe_secret_key


def test_production_refuses_a_weak_auth_secret() -> None:
    with pytest.raises(ValidationError, match="AUTH_SECRET is too short"):
        production(auth_secret=SecretStr("x"))
    with pytest.raises(ValidationError, match="AUTH_SECRET still holds the development placeholder"):
        production(auth_secret=SecretStr(DEV_AUTH_SECRET))
    assert production(auth_secret=SecretStr("x" * 32)).auth_secret is not None


def test_the_image_runs_production() -> None:
    dockerfile = (Path(__file__).parent.parent / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.index("AS runtime") :]
    assert "MICROCRED_ENVIRONMENT=production" in runtime


def test_the_api_docs_follow_the_environment_unless_set() -> None:
    assert Settings(environment=Environment.DEV).serves_api_docs
    assert Settings(environment=Environment.TEST).serves_api_docs
    assert not production().serves_api_docs
    assert production(api_docs=True).serves_api_docs
    assert not Settings(environment=Environment.DEV, api_docs=False).serves_api_docs
