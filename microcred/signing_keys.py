"""The badge signing key: loaded from settings, generated once for development, published as a JWK."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

log = logging.getLogger("microcred.badges")

ALGORITHM = "RS256"
MIN_KEY_BITS = 2048
KEY_FILE = "badge-signing-key.pem"


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of an RSA JWK: SHA-256 of its required members, canonically."""
    required = {name: jwk[name] for name in ("e", "kty", "n")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(canonical).digest()
    return base64url_encode(digest).decode()


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, str]:
    """The public JWK of ``key``, with its RFC 7638 thumbprint as ``kid``."""
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {
        "e": jwk["e"],
        "kty": "RSA",
        "n": jwk["n"],
        "kid": thumbprint(jwk),
        "alg": ALGORITHM,
        "use": "sig",
    }


def public_key_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    if jwk.get("kty") != "RSA":
        raise ValueError("not an RSA key")
    key = RSAAlgorithm.from_jwk(dict(jwk))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)


def load_key(value: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM text (``\\n`` escapes allowed) or from the PEM file at a path."""
    text = value.strip()
    pem = (
        text.replace("\\n", "\n").encode()
        if text.startswith("-----BEGIN")
        else Path(text).expanduser().read_bytes()
    )
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the badge signing key must be an RSA private key")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"the badge signing key must have at least {MIN_KEY_BITS} bits")
    return key


def dev_key(path: Path) -> rsa.RSAPrivateKey:
    """The development key at ``path``, generated (mode 0600) on first use and reused after."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generate_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Written whole to a private temporary file, then linked into place: the API and the worker
        # start together in `microcred dev`, and neither may read a half-written key or replace
        # the other's (the first link wins; the loser reads the winner's key).
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".badge-key-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            path.hardlink_to(temporary)
            log.info("generated a badge signing key at %s", path)
        except FileExistsError:
            pass
        finally:
            Path(temporary).unlink(missing_ok=True)
    return load_key(str(path))
