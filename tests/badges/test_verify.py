"""Verification: an independent JOSE implementation accepts our badges; forgeries and revoked,
premature or inconsistent badges are refused, by it and by our own verifier."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet

from microcred.badges import BadgeIssuer, credential_of
from microcred.db import SessionFactory, transaction
from microcred.models import Badge
from microcred.services import badges
from tests.badges.conftest import approve, issue
from tests.support import test_settings as settings_for_tests


@dataclass
class Issued:
    sessions: SessionFactory
    issuer: BadgeIssuer
    badge_id: str

    @property
    def row(self) -> Badge:
        with self.sessions() as session:
            badge = session.get(Badge, self.badge_id)
            assert badge is not None
            return badge

    def replace_jwt(self, token: str) -> None:
        with transaction(self.sessions) as session:
            badge = session.get(Badge, self.badge_id)
            assert badge is not None
            badge.jwt = token

    def verify(
        self, issuer: BadgeIssuer | None = None, now: datetime | None = None
    ) -> badges.VerificationPublic:
        with self.sessions() as session:
            return badges.verify(
                session, issuer=issuer or self.issuer, badge_id=self.badge_id, now=now or datetime.now(UTC)
            )

    def key_set(self) -> KeySet:
        with self.sessions() as session:
            published: Any = badges.jwks(session, issuer=self.issuer).model_dump()  # what the route serves
        return KeySet.import_key_set(published)


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def own_issuer(key: rsa.RSAPrivateKey) -> BadgeIssuer:
    """An issuer whose private key the test holds, to forge tokens with the right key."""
    return BadgeIssuer(key, api_base_url="http://testserver/api/v1", issuer_name="microcred", issuer_url="x")


@pytest.fixture
def issued(sessions: SessionFactory, own_issuer: BadgeIssuer) -> Issued:
    return Issued(sessions, own_issuer, issue(sessions, own_issuer, approve(sessions)))


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def tampered(token: str, change: Any) -> str:
    """The token with its payload edited and its original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    return f"{header}.{b64(claims)}.{signature}"


def test_an_independent_jose_implementation_verifies_the_badge(issued: Issued) -> None:
    token = jose_jwt.decode(issued.row.jwt, issued.key_set(), algorithms=["RS256"])
    assert token.header["kid"] == issued.issuer.kid and token.header["alg"] == "RS256"
    document = issued.row.document
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": document["issuer"]["id"]},
        jti={"essential": True, "value": document["id"]},
        nbf={"essential": True},
    ).validate(token.claims)
    assert {k: v for k, v in token.claims.items() if k not in ("iss", "jti", "nbf")} == document
    assert issued.verify().valid


def test_our_verifier_reports_what_the_badge_states(issued: Issued) -> None:
    outcome = issued.verify()
    document = issued.row.document
    assert outcome.valid and outcome.reason is None and outcome.revoked_at is None
    assert outcome.issuer == badges.IssuerSummary(id="http://testserver/api/v1/issuer", name="microcred")
    achievement = document["credentialSubject"]["achievement"]
    assert outcome.achievement is not None and outcome.achievement.id == achievement["id"]
    assert outcome.recipient is not None
    assert outcome.recipient.identity_hash == document["credentialSubject"]["identifier"][0]["identityHash"]
    assert outcome.valid_from == datetime.fromisoformat(document["validFrom"])


def test_a_tampered_payload_fails(issued: Issued) -> None:
    def rename(claims: dict[str, Any]) -> None:
        claims["credentialSubject"]["achievement"]["name"] = "Something else entirely"

    forged = tampered(issued.row.jwt, rename)
    with pytest.raises(BadSignatureError):
        jose_jwt.decode(forged, issued.key_set(), algorithms=["RS256"])
    issued.replace_jwt(forged)
    outcome = issued.verify()
    assert not outcome.valid
    assert outcome.reason is not None and "signature" in outcome.reason


def test_a_badge_signed_by_another_key_fails(issued: Issued) -> None:
    stranger = BadgeIssuer.from_settings(settings_for_tests())
    document = credential_of(issued.row.jwt)
    unknown_kid = stranger.sign(document)
    # The same kid as ours in the header, but signed by a key that is not ours.
    impostor = pyjwt.encode(
        pyjwt.decode(unknown_kid, options={"verify_signature": False}),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": issued.issuer.kid},
    )
    with pytest.raises(BadSignatureError):
        jose_jwt.decode(impostor, issued.key_set(), algorithms=["RS256"])
    for token, words in ((unknown_kid, "not one of the issuer's keys"), (impostor, "signature")):
        issued.replace_jwt(token)
        outcome = issued.verify()
        assert not outcome.valid
        assert outcome.reason is not None and words in outcome.reason


def test_a_revoked_badge_fails_with_the_revocation_reason(issued: Issued) -> None:
    with transaction(issued.sessions) as session:
        badges.revoke(
            session,
            badge_id=issued.badge_id,
            reason="Plagiarised evidence",
            actor="admin-1",
            now=datetime.now(UTC),
        )
    outcome = issued.verify()
    assert not outcome.valid
    assert outcome.reason is not None and "Plagiarised evidence" in outcome.reason
    assert outcome.revoked_at is not None
    # The signature itself is intact: only the issuer's revocation makes it fail.
    jose_jwt.decode(issued.row.jwt, issued.key_set(), algorithms=["RS256"])


def test_a_badge_not_valid_yet_fails(issued: Issued) -> None:
    later = credential_of(issued.row.jwt)
    later["validFrom"] = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    premature = issued.issuer.sign(later)
    token = jose_jwt.decode(premature, issued.key_set(), algorithms=["RS256"])
    with pytest.raises(InvalidClaimError):
        jose_jwt.JWTClaimsRegistry(nbf={"essential": True}).validate(token.claims)
    issued.replace_jwt(premature)
    outcome = issued.verify()
    assert not outcome.valid
    assert outcome.reason == f"the badge is not valid before {later['validFrom']}"
    assert issued.verify(now=datetime.now(UTC) + timedelta(hours=3)).valid


@pytest.mark.parametrize(
    "claim, value",
    [
        ("nbf", 1),
        ("iss", "https://elsewhere.example/issuer"),
        ("jti", "urn:uuid:another"),
        ("sub", "did:x:y"),
    ],
)
def test_claims_that_contradict_the_body_fail(
    issued: Issued, key: rsa.RSAPrivateKey, claim: str, value: Any
) -> None:
    claims = pyjwt.decode(issued.row.jwt, options={"verify_signature": False})
    claims[claim] = value
    issued.replace_jwt(pyjwt.encode(claims, key, algorithm="RS256", headers={"kid": issued.issuer.kid}))
    outcome = issued.verify()
    assert not outcome.valid
    assert outcome.reason == f"the JWT claim {claim!r} does not match the credential"


def test_a_body_naming_another_issuer_fails(issued: Issued) -> None:
    foreign = credential_of(issued.row.jwt)
    foreign["issuer"] = {**foreign["issuer"], "id": "https://elsewhere.example/issuer"}
    issued.replace_jwt(issued.issuer.sign(foreign))
    outcome = issued.verify()
    assert not outcome.valid and outcome.reason is not None and "not by this issuer" in outcome.reason


def test_a_valid_token_of_another_badge_does_not_verify_this_one(
    sessions: SessionFactory, own_issuer: BadgeIssuer, issued: Issued
) -> None:
    other = Issued(sessions, own_issuer, issue(sessions, own_issuer, approve(sessions)))
    issued.replace_jwt(other.row.jwt)
    outcome = issued.verify()
    assert not outcome.valid and outcome.reason == "the signed credential belongs to another badge"


def test_badges_signed_before_a_key_rotation_still_verify(issued: Issued) -> None:
    rotated = BadgeIssuer.from_settings(settings_for_tests())
    assert rotated.kid != issued.issuer.kid
    assert issued.verify(issuer=rotated).valid
    with issued.sessions() as session:
        published = {k.kid for k in badges.jwks(session, issuer=rotated).keys}
    assert {issued.issuer.kid, rotated.kid} <= published
