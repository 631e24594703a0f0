"""Settings handed to a child process through the environment come back whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from microcred.config import Environment, Settings


def test_environ_round_trips_every_kind_of_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(
        environment=Environment.TEST,
        data_dir=Path("/tmp/somewhere"),
        database_url="postgresql+psycopg://u:p@db:5432/app",
        auth_secret=SecretStr("s3cret-" * 6),
        stripe_secret_key=SecretStr("sk_test_123"),
        admin_emails=["a@example.org", "b@example.org"],
        log_json=False,
        metrics_port=9464,
        max_cached_workflows=17,
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
