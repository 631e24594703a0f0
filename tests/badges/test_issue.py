"""The badge activity: exactly one badge per approved enrolment, stating the approved submission."""

from __future__ import annotations

import dataclasses
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.badges import BadgeActivities
from microcred.badges import OB_CONTEXT, VC_CONTEXT, BadgeIssuer, badge_id_for, credential_of
from microcred.db import SessionFactory
from microcred.models import Badge, SigningKey
from tests.badges.conftest import COMMENTS, approve, issue
from tests.support import test_settings as settings_for_tests


def badges_of(sessions: SessionFactory, enrolment_id: str) -> list[Badge]:
    with sessions() as session:
        return list(session.exec(select(Badge).where(Badge.enrolment_id == enrolment_id)).all())


def test_a_retried_activity_returns_the_same_badge_and_stores_one(
    sessions: SessionFactory, issuer: BadgeIssuer
) -> None:
    approved = approve(sessions)
    activities = BadgeActivities(sessions, issuer)
    env = ActivityEnvironment()
    first = env.run(activities.issue_badge, approved.badge_input())
    stored = badges_of(sessions, approved.enrolment_id)
    second = env.run(activities.issue_badge, approved.badge_input())
    # A retry much later, on a worker whose key has been rotated, still returns the same badge.
    rotated = BadgeActivities(sessions, BadgeIssuer.from_settings(settings_for_tests()))
    third = env.run(rotated.issue_badge, approved.badge_input(approved.decided_at + timedelta(days=3)))

    assert first.badge_id == second.badge_id == third.badge_id == badge_id_for(approved.enrolment_id, 1)
    rows = badges_of(sessions, approved.enrolment_id)
    assert len(rows) == 1
    assert rows[0].jwt == stored[0].jwt and rows[0].kid == issuer.kid


def test_an_attempt_that_loses_the_race_returns_the_winners_badge(
    sessions: SessionFactory, issuer: BadgeIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another attempt commits between this one's check and its insert: the insert fails, the
    activity returns the badge that won instead of failing."""
    approved = approve(sessions)
    activities = BadgeActivities(sessions, issuer)
    sign = BadgeIssuer.sign
    competitors: list[str] = []
    winners: list[str] = []

    def sign_after_a_competitor_committed(self: BadgeIssuer, credential: dict[str, Any]) -> str:
        if not competitors:  # only the first attempt to sign lets a competitor in first
            competitors.append("running")
            winners.append(ActivityEnvironment().run(activities.issue_badge, approved.badge_input()).badge_id)
        return sign(self, credential)

    monkeypatch.setattr(BadgeIssuer, "sign", sign_after_a_competitor_committed)
    result = ActivityEnvironment().run(activities.issue_badge, approved.badge_input())
    assert winners == [result.badge_id]
    (badge,) = badges_of(sessions, approved.enrolment_id)
    assert badge.id == result.badge_id


def test_concurrent_attempts_store_one_badge(sessions: SessionFactory, issuer: BadgeIssuer) -> None:
    approved = approve(sessions)
    activities = BadgeActivities(sessions, issuer)

    def attempt(_: int) -> str:
        return ActivityEnvironment().run(activities.issue_badge, approved.badge_input()).badge_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(attempt, range(4)))
    assert ids == {badge_id_for(approved.enrolment_id, 1)}
    assert len(badges_of(sessions, approved.enrolment_id)) == 1


def test_the_badge_id_is_derived_from_the_approved_submission() -> None:
    assert badge_id_for("e1", 2) == badge_id_for("e1", 2)
    assert len({badge_id_for("e1", 1), badge_id_for("e1", 2), badge_id_for("e2", 1)}) == 3


def test_the_credential_states_the_approved_submission(sessions: SessionFactory, issuer: BadgeIssuer) -> None:
    approved = approve(sessions, attempt=2)
    badge_id = issue(sessions, issuer, approved)
    (badge,) = badges_of(sessions, approved.enrolment_id)
    assert (badge.id, badge.attempt, badge.member_id, badge.credential_id) == (
        badge_id,
        2,
        approved.member_id,
        approved.credential.id,
    )
    doc = badge.document
    assert doc["@context"] == [VC_CONTEXT, OB_CONTEXT]
    assert doc["id"] == f"urn:uuid:{badge_id}"
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["issuer"] == {
        "id": "http://testserver/api/v1/issuer",
        "type": ["Profile"],
        "name": "microcred",
        "url": "http://testserver",
    }
    assert doc["validFrom"] == approved.decided_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["name"] == approved.credential.title

    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    (identity,) = subject["identifier"]
    assert identity["type"] == "IdentityObject"
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    assert len(identity["salt"]) >= 16
    expected_hash = hashlib.sha256(("ada.lovelace@example.org" + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected_hash}"
    assert "lovelace" not in str(doc).lower()  # the address never appears in clear

    achievement = subject["achievement"]
    assert achievement["id"] == f"http://testserver/api/v1/credentials/{approved.credential.id}"
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == approved.credential.title
    assert achievement["description"] == approved.credential.summary
    criteria = [c for s in approved.credential.sections for c in s.rubric]
    for criterion in criteria:
        assert criterion.title in achievement["criteria"]["narrative"]
    described = {d["id"]: d for d in achievement["resultDescription"]}
    assert [d["name"] for d in achievement["resultDescription"]] == [c.title for c in criteria]

    results = subject["result"]
    assert len(results) == len(criteria)
    for criterion, result in zip(criteria, results, strict=True):
        assert result["type"] == ["Result"]
        description = described[result["resultDescription"]]
        assert description["name"] == criterion.title
        assert result["achievedLevel"] == description["requiredLevel"]
        assert result["value"] == "Met"
        assert result.get("description", "") == COMMENTS[criterion.id]

    assert doc["evidence"] == [
        {
            "id": f"http://testserver/api/v1/badges/{badge_id}/evidence",
            "type": ["Evidence"],
            "name": "Approved submission (attempt 2)",
            "description": "The responses to every task that an evaluator marked against the rubric.",
        }
    ]


def test_the_jwt_is_rs256_with_the_kid_and_claims_mirroring_the_body(
    sessions: SessionFactory, issuer: BadgeIssuer
) -> None:
    badge_id = issue(sessions, issuer, approved := approve(sessions))
    (badge,) = badges_of(sessions, approved.enrolment_id)
    header = jwt.get_unverified_header(badge.jwt)
    assert header == {"alg": "RS256", "kid": issuer.kid, "typ": "JWT"}
    claims = jwt.decode(badge.jwt, options={"verify_signature": False})
    assert claims["iss"] == badge.document["issuer"]["id"]
    assert claims["jti"] == badge.document["id"] == f"urn:uuid:{badge_id}"
    assert claims["nbf"] == int(approved.decided_at.timestamp())
    assert "sub" not in claims and "id" not in badge.document["credentialSubject"]
    assert credential_of(badge.jwt) == badge.document


def test_the_signing_key_is_recorded_once(sessions: SessionFactory) -> None:
    issuer = BadgeIssuer.from_settings(settings_for_tests())
    for _ in range(2):
        issue(sessions, issuer, approve(sessions))
    with sessions() as session:
        rows = session.exec(select(SigningKey).where(SigningKey.kid == issuer.kid)).all()
    assert [r.public_jwk for r in rows] == [issuer.jwk]


def test_a_member_without_an_email_is_named_by_a_hashed_member_id(
    sessions: SessionFactory, issuer: BadgeIssuer
) -> None:
    approved = approve(sessions, email=None)
    issue(sessions, issuer, approved)
    (badge,) = badges_of(sessions, approved.enrolment_id)
    (identity,) = badge.document["credentialSubject"]["identifier"]
    assert identity["identityType"] == "systemId"
    expected = hashlib.sha256((approved.member_id + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"


def test_a_badge_is_never_dated_after_its_signature(sessions: SessionFactory, issuer: BadgeIssuer) -> None:
    """A workflow clock ahead of the worker's (or skipped ahead in tests) cannot post-date a badge."""
    approved = approve(sessions)
    before = datetime.now(UTC).replace(microsecond=0)
    issue(sessions, issuer, approved, at=datetime.now(UTC) + timedelta(days=90))
    (badge,) = badges_of(sessions, approved.enrolment_id)
    valid_from = datetime.fromisoformat(badge.document["validFrom"])
    assert before <= valid_from <= datetime.now(UTC)


@pytest.mark.parametrize(
    "outcome, unmet, error",
    [("resubmit", ("plan-c",), "InvalidState"), ("approved", ("reflect-d",), "InvalidState")],
    ids=["not-approved", "rubric-not-met"],
)
def test_no_badge_for_an_attempt_that_was_not_approved(
    sessions: SessionFactory, issuer: BadgeIssuer, outcome: str, unmet: tuple[str, ...], error: str
) -> None:
    approved = approve(sessions, outcome=outcome, unmet=unmet)
    with pytest.raises(ApplicationError) as raised:
        issue(sessions, issuer, approved)
    assert raised.value.type == error
    # Retryable on purpose: an operator repairs the data and the next attempt issues the badge.
    assert not raised.value.non_retryable
    assert badges_of(sessions, approved.enrolment_id) == []


def test_an_unknown_enrolment_is_reported(sessions: SessionFactory, issuer: BadgeIssuer) -> None:
    approved = approve(sessions)
    missing = dataclasses.replace(approved, enrolment_id="no-such-enrolment")
    with pytest.raises(ApplicationError) as raised:
        issue(sessions, issuer, missing)
    assert raised.value.type == "NotFound"
