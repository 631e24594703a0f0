"""The microcred command: tokens, and every documented command parses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from microcred.cli import _parser

MICROCRED = str(Path(sys.executable).parent / "microcred")


def test_token_is_signed_with_the_configured_secret() -> None:
    secret = "cli-test-secret-0123456789abcdef0123456789"
    completed = subprocess.run(
        [
            MICROCRED,
            "token",
            "--role",
            "evaluator",
            "--sub",
            "eva",
            "--email",
            "eva@example.org",
            "--days",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"MICROCRED_AUTH_SECRET": secret, "PATH": ""},
    )
    claims = jwt.decode(completed.stdout.strip(), secret, algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["email"]) == ("eva", "evaluator", "eva@example.org")
    assert claims["exp"] - claims["iat"] == 2 * 24 * 3600


def test_token_without_a_secret_says_what_to_set(tmp_path: Path) -> None:
    completed = subprocess.run(
        [MICROCRED, "token", "--role", "member", "--sub", "m"],
        capture_output=True,
        text=True,
        env={"PATH": ""},
        cwd=tmp_path,  # no dev data folder here
    )
    assert completed.returncode == 2 and "MICROCRED_AUTH_SECRET" in completed.stderr
    assert "make dev" in completed.stderr


def test_token_after_make_dev_uses_the_data_folders_secret(tmp_path: Path) -> None:
    """`microcred dev` keeps its generated secret in the data folder: tokens for more users work."""
    secret = "dev-folder-secret-0123456789abcdef012345"
    (tmp_path / "dev-secrets.json").write_text(json.dumps({"auth_secret": secret, "webhook_secret": "w"}))
    completed = subprocess.run(
        [MICROCRED, "token", "--role", "member", "--sub", "alice"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "MICROCRED_DATA_DIR": str(tmp_path)},
    )
    assert jwt.decode(completed.stdout.strip(), secret, algorithms=["HS256"])["sub"] == "alice"
    assert completed.stderr == ""  # no log noise around the token (alembic's plugin lines were)


@pytest.mark.parametrize(
    "argv",
    [
        ["dev"],
        ["dev", "--port", "8001", "--temporal-port", "7234", "--ui-port", "8234", "--data-dir", "/tmp/x"],
        ["api", "--host", "0.0.0.0", "--port", "8000"],
        ["worker"],
        ["setup"],
        ["token", "--role", "admin", "--sub", "a"],
    ],
)
def test_documented_commands_parse(argv: list[str]) -> None:
    assert _parser().parse_args(argv).command == argv[0]


def test_unknown_role_is_refused() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["token", "--role", "root", "--sub", "x"])
