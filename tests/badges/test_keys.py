"""The badge signing key: where it comes from, its kid, and what is refused."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.signing_keys import KEY_FILE, load_key
from tests.support import test_settings as settings_for_tests


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def test_dev_generates_one_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    settings = Settings(environment="dev", data_dir=tmp_path / "fresh" / "data")
    first = BadgeIssuer.from_settings(settings)
    path = settings.data_dir / KEY_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temporary file left behind
    key = load_key(str(path))
    assert key.key_size == 2048
    written = path.read_bytes()
    again = BadgeIssuer.from_settings(settings)
    assert again.kid == first.kid
    assert path.read_bytes() == written


def test_dev_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    settings = Settings(environment="dev", data_dir=tmp_path / "data")
    with ThreadPoolExecutor(max_workers=4) as pool:
        kids = set(pool.map(lambda _: BadgeIssuer.from_settings(settings).kid, range(4)))
    assert len(kids) == 1
    assert kids == {BadgeIssuer.from_settings(settings).kid}
    assert [p.name for p in settings.data_dir.iterdir()] == [KEY_FILE]


def test_test_environment_keys_are_ephemeral_and_never_written(tmp_path: Path) -> None:
    settings = settings_for_tests(data_dir=tmp_path / "data")
    assert BadgeIssuer.from_settings(settings).kid != BadgeIssuer.from_settings(settings).kid
    assert not settings.data_dir.exists()


def test_configured_key_as_pem_text_escaped_pem_or_path(tmp_path: Path) -> None:
    key = rsa_key()
    text = pem(key)
    expected = BadgeIssuer(key, api_base_url="x", issuer_name="x", issuer_url="x").kid
    path = tmp_path / "signing.pem"
    path.write_text(text)
    for value in (text, text.replace("\n", "\\n"), str(path)):
        settings = Settings(
            environment="dev", data_dir=tmp_path / "unused", badge_signing_key=SecretStr(value)
        )
        assert BadgeIssuer.from_settings(settings).kid == expected
    assert not (tmp_path / "unused").exists()


def test_production_signs_with_the_configured_key(tmp_path: Path) -> None:
    key = rsa_key()
    settings = Settings(
        environment="production",
        auth_secret=SecretStr("a-real-production-secret-0123456789abcdef"),
        stripe_webhook_secret=SecretStr("whsec_real_production_secret_0123456789"),
        stripe_secret_key=SecretStr("sk_live_real_production_key"),
        badge_signing_key=SecretStr(pem(key)),
        badge_issuer_name="Education Exchange",
    )
    issuer = BadgeIssuer.from_settings(settings)
    assert issuer.jwk["n"] == RSAKey.import_key(pem(key)).as_dict(private=False)["n"]
    assert issuer.issuer_name == "Education Exchange"


def test_kid_is_the_rfc7638_thumbprint_of_the_public_key() -> None:
    key = rsa_key()
    issuer = BadgeIssuer(key, api_base_url="x", issuer_name="x", issuer_url="x")
    independent = RSAKey.import_key(pem(key))
    assert issuer.kid == independent.thumbprint()
    assert issuer.jwk == {
        **{k: v for k, v in independent.as_dict(private=False).items() if k in ("kty", "n", "e")},
        "kid": issuer.kid,
        "alg": "RS256",
        "use": "sig",
    }


@pytest.mark.parametrize(
    "key, message",
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=1024), "at least 2048 bits"),
        (ec.generate_private_key(ec.SECP256R1()), "must be an RSA private key"),
    ],
    ids=["rsa-1024", "ec-p256"],
)
def test_weak_or_non_rsa_keys_are_refused(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, message: str
) -> None:
    settings = settings_for_tests(badge_signing_key=SecretStr(pem(key)))
    with pytest.raises(ValueError, match=message):
        BadgeIssuer.from_settings(settings)
