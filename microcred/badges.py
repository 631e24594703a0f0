"""Open Badges 3.0 credentials, signed as VC-JWTs: build the document, sign it, verify it, publish keys.

The credential is an ``OpenBadgeCredential`` on the W3C Verifiable Credentials 2.0 data model. Its
proof is a compact JWS with ``RS256`` (the algorithm every Open Badges 3.0 verifier supports): the
JWT payload is the credential itself plus the registered claims that mirror it (``iss`` = issuer id,
``jti`` = credential id, ``nbf`` = ``validFrom``, ``sub`` = subject id when there is one), and the
JOSE header's ``kid`` is the key's RFC 7638 thumbprint, listed in ``/.well-known/jwks.json``.

Pure apart from the key file: callers gather the facts from the database and store the results.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from microcred.config import Environment, Settings
from microcred.signing_keys import (
    ALGORITHM,
    KEY_FILE,
    MIN_KEY_BITS,
    dev_key,
    generate_key,
    load_key,
    public_jwk,
    public_key_from_jwk,
)

log = logging.getLogger("microcred.badges")

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLOCK_LEEWAY = timedelta(seconds=60)
# The registered claims a VC-JWT restates from the credential, and all that are not credential terms.
MIRRORED_CLAIMS = ("iss", "jti", "nbf", "sub", "exp")
REGISTERED_CLAIMS = frozenset({*MIRRORED_CLAIMS, "iat", "aud"})
# Fixed forever: badge ids are uuid5s in this namespace, so an approved submission names its badge.
BADGE_NAMESPACE = uuid.UUID("6f1c1a52-5d57-4d1e-9a55-3b0f4b7c2e91")


def badge_id_for(enrolment_id: str, attempt: int) -> str:
    """The id of the badge earned by this approved submission: the same on every retry."""
    return str(uuid.uuid5(BADGE_NAMESPACE, f"{enrolment_id}:{attempt}"))


def identity_hash(identity: str, salt: str) -> str:
    """An Open Badges ``IdentityHash``: ``sha256$`` and the hex SHA-256 of identity + salt."""
    return "sha256$" + hashlib.sha256((identity + salt).encode()).hexdigest()


def normalise_email(email: str) -> str:
    """Addresses are hashed trimmed and lower-cased, so a verifier can reproduce the hash."""
    return email.strip().lower()


def timestamp(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second (what ``validFrom`` holds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class MarkedCriterion:
    """One rubric criterion of the credential and how the evaluator marked it."""

    id: str
    section: str
    title: str
    description: str
    met: bool
    comment: str


@dataclass(frozen=True)
class Award:
    """Everything a badge states, gathered by the caller from the approved submission."""

    badge_id: str
    valid_from: datetime
    credential_id: str
    title: str
    summary: str
    rubric: Sequence[MarkedCriterion]
    identity: str
    identity_type: str  # "emailAddress" (normalised address) or "systemId" (member id)
    attempt: int
    salt: str


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a VC-JWT; ``payload`` is what the token claims (even if invalid)."""

    valid: bool
    reason: str | None
    payload: dict[str, Any] | None


class BadgeIssuer:
    """Signs badges with one RSA key and verifies them against every key the issuer has used."""

    def __init__(
        self, key: rsa.RSAPrivateKey, *, api_base_url: str, issuer_name: str, issuer_url: str
    ) -> None:
        if key.key_size < MIN_KEY_BITS:
            raise ValueError(f"the badge signing key must have at least {MIN_KEY_BITS} bits")
        self._key = key
        self._api = api_base_url.rstrip("/")
        self.issuer_name = issuer_name
        self.issuer_url = issuer_url
        self.jwk = public_jwk(key.public_key())
        self.kid = self.jwk["kid"]

    @classmethod
    def from_settings(cls, settings: Settings) -> BadgeIssuer:
        """The key of ``MICROCRED_BADGE_SIGNING_KEY`` (PEM or a path to one); else dev's key file
        (generated once into the data folder) or, in tests, a fresh in-memory key."""
        if settings.badge_signing_key is not None:
            key = load_key(settings.badge_signing_key.get_secret_value())
        elif settings.environment is Environment.DEV:
            key = dev_key(settings.data_dir / KEY_FILE)
        elif settings.environment is Environment.TEST:
            key = generate_key()
        else:  # Settings refuses production without a key; never sign with a throwaway one
            raise ValueError("set MICROCRED_BADGE_SIGNING_KEY")
        return cls(
            key,
            api_base_url=settings.api_base_url,
            issuer_name=settings.badge_issuer_name,
            issuer_url=settings.public_base_url,
        )

    # --- identifiers -----------------------------------------------------------------------

    @property
    def issuer_id(self) -> str:
        return f"{self._api}/issuer"

    def achievement_id(self, credential_id: str) -> str:
        return f"{self._api}/credentials/{credential_id}"

    def badge_url(self, badge_id: str) -> str:
        return f"{self._api}/badges/{badge_id}"

    def evidence_url(self, badge_id: str) -> str:
        return f"{self._api}/badges/{badge_id}/evidence"

    def profile(self) -> dict[str, Any]:
        """The issuer's Open Badges ``Profile``."""
        return {"id": self.issuer_id, "type": ["Profile"], "name": self.issuer_name, "url": self.issuer_url}

    # --- issuing ---------------------------------------------------------------------------

    def credential(self, award: Award) -> dict[str, Any]:
        """The ``OpenBadgeCredential`` document for ``award``."""
        achievement_id = self.achievement_id(award.credential_id)
        return {
            "@context": [VC_CONTEXT, OB_CONTEXT],
            "id": f"urn:uuid:{award.badge_id}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": self.profile(),
            "validFrom": timestamp(award.valid_from),
            "name": award.title,
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [
                    {
                        "type": "IdentityObject",
                        "identityHash": identity_hash(award.identity, award.salt),
                        "identityType": award.identity_type,
                        "hashed": True,
                        "salt": award.salt,
                    }
                ],
                "achievement": {
                    "id": achievement_id,
                    "type": ["Achievement"],
                    "achievementType": "MicroCredential",
                    "name": award.title,
                    "description": award.summary or award.title,
                    "criteria": {"narrative": criteria_narrative(award.rubric)},
                    "resultDescription": [_result_description(achievement_id, c) for c in award.rubric],
                },
                "result": [_result(achievement_id, c) for c in award.rubric],
            },
            "evidence": [
                {
                    "id": self.evidence_url(award.badge_id),
                    "type": ["Evidence"],
                    "name": f"Approved submission (attempt {award.attempt})",
                    "description": "The responses to every task that an evaluator marked against the rubric.",
                }
            ],
        }

    def sign(self, credential: Mapping[str, Any]) -> str:
        """The VC-JWT of ``credential``: the document as payload, registered claims that mirror it."""
        claims: dict[str, Any] = dict(credential)
        claims.update(_mirrored_claims(credential))
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})

    # --- verifying -------------------------------------------------------------------------

    def verify(self, token: str, *, keys: Mapping[str, Mapping[str, Any]], now: datetime) -> Verification:
        """Check the signature (with the key ``kid`` names among ``keys``), the claims and the dates."""
        payload = decode_unverified(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return Verification(valid=False, reason="the badge is not a well-formed JWT", payload=payload)

        def invalid(reason: str) -> Verification:
            return Verification(valid=False, reason=reason, payload=payload)

        if header.get("alg") != ALGORITHM:
            return invalid(f"the badge must be signed with {ALGORITHM}, not {header.get('alg')!r}")
        kid = header.get("kid")
        jwk = keys.get(kid) if isinstance(kid, str) else None
        if jwk is None:
            return invalid(f"the signing key {kid!r} is not one of the issuer's keys")
        try:
            claims = jwt.decode(
                token,
                public_key_from_jwk(jwk),
                algorithms=[ALGORITHM],
                # Dates are checked below against ``now`` (and against the body they mirror).
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["iss", "jti", "nbf"],
                },
            )
        except jwt.InvalidSignatureError:
            return invalid("the signature does not match the badge: it was altered or signed by another key")
        except (jwt.InvalidTokenError, ValueError) as exc:
            return invalid(f"the badge's token is invalid: {exc}")
        problem = self._claims_problem(claims, now)
        return Verification(valid=problem is None, reason=problem, payload=claims)

    def _claims_problem(self, claims: dict[str, Any], now: datetime) -> str | None:
        contexts = claims.get("@context")
        if not isinstance(contexts, list) or contexts[:1] != [VC_CONTEXT] or OB_CONTEXT not in contexts:
            return "the badge does not use the Verifiable Credentials 2.0 and Open Badges 3.0 contexts"
        types = claims.get("type")
        if not isinstance(types, list) or not {"VerifiableCredential", "OpenBadgeCredential"} <= set(types):
            return "the badge is not an OpenBadgeCredential"
        try:
            expected = _mirrored_claims(claims)
        except (KeyError, TypeError, ValueError, AttributeError):
            return "the badge lacks its issuer, id or validFrom"
        if expected["iss"] != self.issuer_id:
            return f"the badge was issued by {expected['iss']!r}, not by this issuer"
        for name in MIRRORED_CLAIMS:
            if claims.get(name) != expected.get(name):
                return f"the JWT claim {name!r} does not match the credential"
        if now + CLOCK_LEEWAY < datetime.fromtimestamp(expected["nbf"], UTC):
            return f"the badge is not valid before {claims['validFrom']}"
        if "exp" in expected and now - CLOCK_LEEWAY >= datetime.fromtimestamp(expected["exp"], UTC):
            return f"the badge expired on {claims['validUntil']}"
        return None


def _criterion_iri(achievement_id: str, criterion: MarkedCriterion, level: str | None = None) -> str:
    return f"{achievement_id}#criterion-{criterion.id}" + (f"-{level}" if level else "")


def _result_description(achievement_id: str, c: MarkedCriterion) -> dict[str, Any]:
    """A rubric criterion as an Open Badges ``ResultDescription`` with two levels, met and not met."""
    return {
        "id": _criterion_iri(achievement_id, c),
        "type": ["ResultDescription"],
        "name": c.title,
        "resultType": "RubricCriterionLevel",
        "requiredLevel": _criterion_iri(achievement_id, c, "met"),
        "rubricCriterionLevel": [
            {
                "id": _criterion_iri(achievement_id, c, "met"),
                "type": ["RubricCriterionLevel"],
                "name": "Met",
                "description": c.description or c.title,
            },
            {
                "id": _criterion_iri(achievement_id, c, "not-met"),
                "type": ["RubricCriterionLevel"],
                "name": "Not met",
            },
        ],
    }


def _result(achievement_id: str, c: MarkedCriterion) -> dict[str, Any]:
    """How the evaluator marked one criterion (the comment, when given, as its description)."""
    result: dict[str, Any] = {
        "type": ["Result"],
        "resultDescription": _criterion_iri(achievement_id, c),
        "achievedLevel": _criterion_iri(achievement_id, c, "met" if c.met else "not-met"),
        "value": "Met" if c.met else "Not met",
    }
    if c.comment:
        result["description"] = c.comment
    return result


def _mirrored_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The registered JWT claims that restate the credential (VC-JWT): iss, jti, nbf, sub, exp."""
    issuer = credential["issuer"]
    claims: dict[str, Any] = {
        "iss": issuer if isinstance(issuer, str) else issuer["id"],
        "jti": credential["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
    }
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and subject.get("id"):
        claims["sub"] = subject["id"]
    if credential.get("validUntil"):
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    return claims


def decode_unverified(token: str) -> dict[str, Any] | None:
    """The payload of a JWT as it stands, signature unchecked (None when it is not a JWT)."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return payload if isinstance(payload, dict) else None


def credential_of(token: str) -> dict[str, Any]:
    """The credential a VC-JWT carries: its payload without the registered claims."""
    payload = decode_unverified(token) or {}
    return {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}


def criteria_narrative(rubric: Sequence[MarkedCriterion]) -> str:
    """The criteria in Markdown: an evaluator marks every rubric criterion as met."""
    lines = [
        "Earned by submitting work for every task of the micro-credential and having an evaluator "
        "mark each criterion of its rubric as met.",
    ]
    section = None
    for c in rubric:
        if c.section != section:
            section = c.section
            lines += ["", f"**{section}**", ""]
        lines.append(f"- {c.title}" + (f": {c.description}" if c.description else ""))
    return "\n".join(lines)


def new_salt() -> str:
    return secrets.token_hex(16)
