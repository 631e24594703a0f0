"""Badges: issue one per approved submission, read, verify, revoke, show its evidence, publish keys.

The member who earned a badge chooses whether its public page shows their name; that choice is
display only and never enters the signed credential.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlmodel import Session, col, select

from microcred import badges as ob
from microcred import signing_keys
from microcred.contracts import Outcome
from microcred.documents import CredentialDoc
from microcred.errors import InvalidRequest, InvalidState, NotFound
from microcred.markdown import render_markdown
from microcred.models import Badge, Enrolment, Member, RubricMark, SigningKey, Submission
from microcred.services import catalog

LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"

# --- what the API shows --------------------------------------------------------------------


class BadgePublic(BaseModel):
    id: str
    credential: dict[str, Any] = Field(description="The OpenBadgeCredential, decoded from the JWT.")
    jwt: str = Field(description="The credential signed as a VC-JWT (RS256; kid in /.well-known/jwks.json).")
    show_name: bool = Field(description="The member chose to show their name on the badge's page.")
    earner_name: str | None = Field(description="The member's name, only when they chose to show it.")
    show_evidence: bool = Field(
        description="The member chose to show their work on the evidence page (404 there otherwise)."
    )
    linkedin_url: str = Field(description='LinkedIn\'s "Add to profile" link, prefilled with this badge.')


class BadgeDisplayUpdate(BaseModel):
    """What the member who earned a badge chooses to show on its public page."""

    model_config = ConfigDict(extra="forbid")

    show_name: StrictBool | None = Field(
        default=None, description="Show the member's name (true) or keep it private (false); omit to keep."
    )
    show_evidence: StrictBool | None = Field(
        default=None,
        description="Show the approved submission on the evidence page (true) or keep it private (false); "
        "omit to keep. Private by default. The badge verifies either way.",
    )


class BadgeDisplay(BaseModel):
    badge_id: str
    show_name: bool
    name: str | None = Field(description="The name the page shows: null when hidden or unknown.")
    show_evidence: bool


class IssuerSummary(BaseModel):
    id: str
    name: str


class AchievementSummary(BaseModel):
    id: str
    name: str
    description: str | None = None


class RecipientIdentity(BaseModel):
    """The recipient as the badge names them: a salted ``sha256$`` hash, never the address itself."""

    model_config = ConfigDict(populate_by_name=True)

    type: str | list[str]
    identity_hash: str = Field(alias="identityHash")
    identity_type: str = Field(alias="identityType")
    hashed: bool
    salt: str | None = None


class VerificationPublic(BaseModel):
    valid: bool
    reason: str | None = Field(default=None, description="Why the badge does not verify.")
    issuer: IssuerSummary | None = Field(description="As the badge states it (checked only when valid).")
    recipient: RecipientIdentity | None
    achievement: AchievementSummary | None
    valid_from: datetime | None
    revoked_at: datetime | None = None
    checked_at: datetime


class RevokeRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class RevocationPublic(BaseModel):
    id: str
    revoked_at: datetime
    reason: str
    revoked_by: str | None


class JwkPublic(BaseModel):
    kty: str
    n: str
    e: str
    kid: str
    alg: str = signing_keys.ALGORITHM
    use: str = "sig"


class JwksPublic(BaseModel):
    keys: list[JwkPublic]


class ProfilePublic(BaseModel):
    context: list[str] = Field(alias="@context")
    id: str
    type: list[str]
    name: str
    url: str


class EvidenceTask(BaseModel):
    id: str
    prompt: str
    response: str | None


class EvidenceCriterion(BaseModel):
    criterion_id: str
    title: str
    met: bool
    comment: str


class EvidenceSection(BaseModel):
    id: str
    title: str
    tasks: list[EvidenceTask]
    rubric: list[EvidenceCriterion]


class EvidencePublic(BaseModel):
    """The approved submission a badge's evidence points at."""

    badge_id: str
    badge_url: str
    credential_id: str
    title: str
    attempt: int
    submitted_at: datetime
    decided_at: datetime | None
    sections: list[EvidenceSection]


class BadgePage(BaseModel):
    """What the web page of a badge shows."""

    # Markup is checked by type, so only render_markdown's output reaches the page unescaped.
    model_config = ConfigDict(arbitrary_types_allowed=True)

    badge_id: str
    title: str
    description: str
    criteria: Markup = Field(description="The criteria's Markdown rendered as safe HTML.")
    earner_name: str | None = Field(description="The member's name, only when they chose to show it.")
    issuer_name: str
    issuer_url: str
    issued_on: date | None
    results: list[EvidenceCriterion]
    verification: VerificationPublic
    badge_url: str
    verify_url: str
    evidence_url: str | None
    linkedin_url: str


# --- issuing -------------------------------------------------------------------------------


def find(session: Session, *, enrolment_id: str) -> Badge | None:
    """The badge of an enrolment, if it has one (at most one exists)."""
    return session.exec(select(Badge).where(Badge.enrolment_id == enrolment_id)).first()


def issue(
    session: Session, *, issuer: ob.BadgeIssuer, enrolment_id: str, attempt: int, valid_from: datetime
) -> Badge:
    """The badge of the approved attempt: the one already issued, or a newly signed one."""
    # An enrolment holds at most one badge (its id derived from the enrolment): this one or none.
    existing = find(session, enrolment_id=enrolment_id)
    if existing is not None:
        return existing
    # The enrolment, the attempt's submission and the member, in one query.
    row = session.exec(
        select(Enrolment, Submission, Member)
        .outerjoin(
            Submission,
            sa.and_(col(Submission.enrolment_id) == Enrolment.id, col(Submission.attempt) == attempt),
        )
        .outerjoin(Member, col(Member.id) == Enrolment.member_id)
        .where(Enrolment.id == enrolment_id)
    ).first()
    if row is None:
        raise NotFound("no such enrolment", enrolment_id=enrolment_id)
    enrolment, submission, member = row
    if submission is None or submission.outcome != Outcome.APPROVED:
        raise InvalidState("this attempt was not approved", enrolment_id=enrolment_id, attempt=attempt)
    doc = catalog.get(session, credential_id=enrolment.credential_id)
    rubric = _marked_rubric(session, doc=doc, submission=submission)
    unmet = [c.id for c in rubric if not c.met]
    if unmet:
        raise InvalidState("the approved rubric has unmet or unmarked criteria", criteria=unmet)
    if member is not None and member.email:
        identity, identity_type = ob.normalise_email(member.email), "emailAddress"
    else:  # a member known only by the token's subject
        identity, identity_type = enrolment.member_id, "systemId"
    badge_id = ob.badge_id_for(enrolment_id, attempt)
    award = ob.Award(
        badge_id=badge_id,
        valid_from=valid_from,
        credential_id=doc.id,
        title=doc.title,
        summary=doc.summary,
        rubric=rubric,
        identity=identity,
        identity_type=identity_type,
        attempt=attempt,
        salt=ob.new_salt(),
    )
    document = issuer.credential(award)
    badge = Badge(
        id=badge_id,
        enrolment_id=enrolment_id,
        attempt=attempt,
        member_id=enrolment.member_id,
        credential_id=enrolment.credential_id,
        issued_at=valid_from,
        kid=issuer.kid,
        jwt=issuer.sign(document),
        document=document,
    )
    session.add(badge)
    session.flush()
    return badge


def record_key(session: Session, *, issuer: ob.BadgeIssuer) -> None:
    """Keep the public half of the current signing key, so its badges verify after a rotation."""
    if session.get(SigningKey, issuer.kid) is None:
        session.add(SigningKey(kid=issuer.kid, public_jwk=dict(issuer.jwk)))


def _marked_rubric(
    session: Session, *, doc: CredentialDoc, submission: Submission
) -> list[ob.MarkedCriterion]:
    """Every criterion of the credential, in order, with the attempt's mark (unmarked = unmet)."""
    marks = {
        m.criterion_id: m
        for m in session.exec(
            select(RubricMark).where(
                RubricMark.enrolment_id == submission.enrolment_id, RubricMark.attempt == submission.attempt
            )
        )
    }
    return [
        ob.MarkedCriterion(
            id=c.id,
            section=s.title,
            title=c.title,
            description=c.description,
            met=marks[c.id].met if c.id in marks else False,
            comment=marks[c.id].comment if c.id in marks else "",
        )
        for s in doc.sections
        for c in s.rubric
    ]


# --- reading and verifying -----------------------------------------------------------------


def get(session: Session, *, badge_id: str) -> Badge:
    badge = session.get(Badge, badge_id)
    if badge is None:
        raise NotFound("no such badge", badge_id=badge_id)
    return badge


def public(session: Session, *, issuer: ob.BadgeIssuer, badge_id: str) -> BadgePublic:
    """The badge as anyone may fetch it: the decoded credential and the VC-JWT."""
    badge = get(session, badge_id=badge_id)
    return BadgePublic(
        id=badge.id,
        credential=ob.credential_of(badge.jwt),
        jwt=badge.jwt,
        show_name=badge.show_name,
        earner_name=earner_name(session, badge=badge),
        show_evidence=badge.show_evidence,
        linkedin_url=_linkedin(issuer, badge),
    )


def _linkedin(issuer: ob.BadgeIssuer, badge: Badge) -> str:
    document = badge.document
    return linkedin_url(
        name=document["credentialSubject"]["achievement"]["name"],
        organization=document["issuer"]["name"],
        issued=badge.issued_at,
        cert_url=issuer.badge_url(badge.id),
        cert_id=badge.id,
    )


def earner_name(session: Session, *, badge: Badge) -> str | None:
    """The member's name as the badge's page shows it: only by their choice, and only when known."""
    if not badge.show_name:
        return None
    member = session.get(Member, badge.member_id)
    return member.name if member is not None and member.name else None


def set_display(
    session: Session, *, badge_id: str, member_id: str, show_name: bool | None, show_evidence: bool | None
) -> BadgeDisplay:
    """Record the earner's choices: their name on the badge's page, their work on its evidence
    page (display only: the signed credential and its verification stay as issued)."""
    if show_name is None and show_evidence is None:
        raise InvalidRequest("choose show_name, show_evidence or both", field="show_name")
    badge = session.get(Badge, badge_id)
    # Someone else's badge answers exactly like a missing one: whose it is stays private.
    if badge is None or badge.member_id != member_id:
        raise NotFound("no such badge", badge_id=badge_id)
    if show_name is not None:
        badge.show_name = show_name
    if show_evidence is not None:
        badge.show_evidence = show_evidence
    session.add(badge)
    session.flush()
    return BadgeDisplay(
        badge_id=badge.id,
        show_name=badge.show_name,
        name=earner_name(session, badge=badge),
        show_evidence=badge.show_evidence,
    )


def keys(session: Session, *, issuer: ob.BadgeIssuer) -> dict[str, dict[str, Any]]:
    """Every public key the issuer has signed with, by kid, and the current one."""
    found = {
        k.kid: dict(k.public_jwk)
        for k in session.exec(select(SigningKey).order_by(col(SigningKey.created_at)))
    }
    found.setdefault(issuer.kid, dict(issuer.jwk))
    return found


def jwks(session: Session, *, issuer: ob.BadgeIssuer) -> JwksPublic:
    """The JWK Set that verifies every badge ever issued."""
    return JwksPublic(keys=[JwkPublic.model_validate(k) for k in keys(session, issuer=issuer).values()])


def profile(*, issuer: ob.BadgeIssuer) -> ProfilePublic:
    """The issuer's Open Badges profile (the ``issuer`` of every badge)."""
    return ProfilePublic.model_validate({"@context": [ob.VC_CONTEXT, ob.OB_CONTEXT], **issuer.profile()})


def verify(session: Session, *, issuer: ob.BadgeIssuer, badge_id: str, now: datetime) -> VerificationPublic:
    """Check a badge: not revoked, signed by one of the issuer's keys, claims and dates in order."""
    badge = get(session, badge_id=badge_id)
    outcome = issuer.verify(badge.jwt, keys=keys(session, issuer=issuer), now=now)
    valid, reason = outcome.valid, outcome.reason
    if badge.revoked_at is not None:
        valid, reason = False, f"revoked by the issuer: {badge.revocation_reason}"
    elif valid and (outcome.payload or {}).get("id") != f"urn:uuid:{badge.id}":
        valid, reason = False, "the signed credential belongs to another badge"
    return VerificationPublic(
        valid=valid,
        reason=reason,
        checked_at=now,
        revoked_at=badge.revoked_at,
        **_statements(outcome.payload or {}),
    )


def _statements(credential: dict[str, Any]) -> dict[str, Any]:
    """Issuer, recipient, achievement and start of validity as the credential states them."""
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    identifiers = subject.get("identifier")
    found: dict[str, Any] = {}
    for name, model, value in (
        ("issuer", IssuerSummary, credential.get("issuer")),
        (
            "recipient",
            RecipientIdentity,
            identifiers[0] if isinstance(identifiers, list) and identifiers else None,
        ),
        ("achievement", AchievementSummary, subject.get("achievement")),
    ):
        try:
            found[name] = model.model_validate(value) if isinstance(value, dict) else None
        except ValidationError:
            found[name] = None
    try:
        found["valid_from"] = datetime.fromisoformat(str(credential["validFrom"]))
    except (KeyError, ValueError):
        found["valid_from"] = None
    return found


# --- revoking ------------------------------------------------------------------------------


def revoke(session: Session, *, badge_id: str, reason: str, actor: str, now: datetime) -> RevocationPublic:
    """Revoke a badge with a reason; revoking it again keeps the first revocation."""
    get(session, badge_id=badge_id)
    session.execute(
        sa.update(Badge)
        .where(col(Badge.id) == badge_id, col(Badge.revoked_at).is_(None))
        .values(revoked_at=now, revocation_reason=reason, revoked_by=actor)
        .execution_options(synchronize_session=False)
    )
    badge = session.get(Badge, badge_id, populate_existing=True)
    assert badge is not None and badge.revoked_at is not None and badge.revocation_reason is not None
    return RevocationPublic(
        id=badge.id, revoked_at=badge.revoked_at, reason=badge.revocation_reason, revoked_by=badge.revoked_by
    )


# --- evidence and the web page -------------------------------------------------------------


def evidence(session: Session, *, issuer: ob.BadgeIssuer, badge_id: str) -> EvidencePublic:
    """The approved submission behind a badge: only when its earner chose to show it, and
    withdrawn once the badge is revoked."""
    badge = get(session, badge_id=badge_id)
    if badge.revoked_at is not None:
        raise NotFound("this badge was revoked; its evidence is withdrawn", badge_id=badge_id)
    if not badge.show_evidence:
        raise NotFound("the earner keeps this badge's evidence private", badge_id=badge_id)
    submission = session.get(Submission, (badge.enrolment_id, badge.attempt))
    if submission is None:
        raise NotFound("the submission behind this badge is gone", badge_id=badge_id)
    doc = catalog.get(session, credential_id=badge.credential_id)
    rubric = {c.id: c for c in _marked_rubric(session, doc=doc, submission=submission)}
    responses = submission.responses
    return EvidencePublic(
        badge_id=badge.id,
        badge_url=issuer.badge_url(badge.id),
        credential_id=doc.id,
        title=doc.title,
        attempt=badge.attempt,
        submitted_at=submission.submitted_at,
        decided_at=submission.decided_at,
        sections=[
            EvidenceSection(
                id=s.id,
                title=s.title,
                tasks=[
                    EvidenceTask(
                        id=t.id, prompt=t.prompt, response=(responses.get(t.id) or {}).get("response")
                    )
                    for t in s.tasks
                ],
                rubric=[_criterion(rubric[c.id]) for c in s.rubric],
            )
            for s in doc.sections
        ],
    )


def _criterion(c: ob.MarkedCriterion) -> EvidenceCriterion:
    return EvidenceCriterion(criterion_id=c.id, title=c.title, met=c.met, comment=c.comment)


def page(session: Session, *, issuer: ob.BadgeIssuer, badge_id: str, now: datetime) -> BadgePage:
    """Everything the badge's web page shows, its verification included."""
    verification = verify(session, issuer=issuer, badge_id=badge_id, now=now)
    badge = get(session, badge_id=badge_id)
    document = badge.document
    achievement = document["credentialSubject"]["achievement"]
    submission = session.get(Submission, (badge.enrolment_id, badge.attempt))
    doc = catalog.get(session, credential_id=badge.credential_id)
    results = (
        [_criterion(c) for c in _marked_rubric(session, doc=doc, submission=submission)] if submission else []
    )
    issued = verification.valid_from or badge.issued_at
    return BadgePage(
        badge_id=badge.id,
        title=achievement["name"],
        description=achievement["description"],
        criteria=render_markdown(achievement["criteria"]["narrative"]),
        earner_name=earner_name(session, badge=badge),
        issuer_name=document["issuer"]["name"],
        issuer_url=document["issuer"].get("url", issuer.issuer_url),
        issued_on=issued.date(),
        results=results,
        verification=verification,
        badge_url=issuer.badge_url(badge.id),
        verify_url=issuer.badge_url(badge.id) + "/verify",
        evidence_url=issuer.evidence_url(badge.id)
        if badge.revoked_at is None and badge.show_evidence
        else None,
        linkedin_url=_linkedin(issuer, badge),
    )


def linkedin_url(*, name: str, organization: str, issued: datetime, cert_url: str, cert_id: str) -> str:
    """LinkedIn's "Add to profile" link, prefilled with the certification."""
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
        "issueYear": issued.year,
        "issueMonth": issued.month,
        "certUrl": cert_url,
        "certId": cert_id,
    }
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(query)}"
