"""Fixtures of the badge tests: an issuer, approved enrolments built row by row, and an API app.

An approved enrolment is inserted directly (member, enrolment, approved submission, marked rubric),
so these tests exercise the badge code alone; the workflow that leads there is tested elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest.mock import Mock

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.badges import BadgeActivities
from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier, issue_token
from microcred.badges import BadgeIssuer
from microcred.contracts import BadgeInput
from microcred.db import SessionFactory, transaction
from microcred.documents import CredentialDoc
from microcred.identity import Role
from microcred.models import Enrolment, Member, RubricMark, Submission
from microcred.temporal.client import WorkflowClient
from tests.support import publish, test_settings, uid

AUTH_SECRET = "badge-tests-auth-secret-0123456789abcdef"
COMMENTS = {"plan-c": "A clear, well-sequenced plan.", "reflect-c": "", "reflect-d": "Concrete next steps."}


@dataclass(frozen=True)
class Approved:
    """An enrolment whose attempt ``attempt`` an evaluator approved."""

    enrolment_id: str
    member_id: str
    email: str | None
    credential: CredentialDoc
    attempt: int
    decided_at: datetime

    def badge_input(self, at: datetime | None = None) -> BadgeInput:
        return BadgeInput(enrolment_id=self.enrolment_id, attempt=self.attempt, at=at or self.decided_at)


def approve(
    sessions: SessionFactory,
    *,
    email: str | None = "Ada.Lovelace@Example.org",
    attempt: int = 1,
    outcome: str = "approved",
    unmet: tuple[str, ...] = (),
    doc: CredentialDoc | None = None,
) -> Approved:
    """Insert a member, an enrolment and its decided submission with every criterion marked."""
    doc = publish(sessions, doc)
    member_id = uid("member")
    enrolment_id = uuid.uuid4().hex
    decided_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    with transaction(sessions) as session:
        session.add(Member(id=member_id, email=email, name="Ada Lovelace"))
        session.flush()
        session.add(
            Enrolment(
                id=enrolment_id,
                member_id=member_id,
                credential_id=doc.id,
                status="approved" if outcome == "approved" else "resubmission_requested",
                attempt=attempt,
                purchased_at=decided_at - timedelta(days=30),
                decision=outcome,
            )
        )
        session.flush()
        responses = {
            t.id: {"version": 1, "response": f"My answer to {t.id}.", "saved_at": decided_at.isoformat()}
            for s in doc.sections
            for t in s.tasks
            if t.required
        }
        session.add(
            Submission(
                enrolment_id=enrolment_id,
                attempt=attempt,
                submitted_at=decided_at - timedelta(days=2),
                responses=responses,
                evaluator_id=uid("evaluator"),
                outcome=outcome,
                feedback="Well done.",
                decided_at=decided_at,
            )
        )
        for section in doc.sections:
            for criterion in section.rubric:
                session.add(
                    RubricMark(
                        enrolment_id=enrolment_id,
                        attempt=attempt,
                        criterion_id=criterion.id,
                        section_id=section.id,
                        met=criterion.id not in unmet,
                        comment="Not yet." if criterion.id in unmet else COMMENTS.get(criterion.id, ""),
                    )
                )
    return Approved(enrolment_id, member_id, email, doc, attempt, decided_at)


def issue(
    sessions: SessionFactory, issuer: BadgeIssuer, approved: Approved, at: datetime | None = None
) -> str:
    """Run the real activity in an activity context; the badge id it returns."""
    result = ActivityEnvironment().run(
        BadgeActivities(sessions, issuer).issue_badge, approved.badge_input(at)
    )
    return result.badge_id


@pytest.fixture(scope="session")
def issuer() -> BadgeIssuer:
    return BadgeIssuer.from_settings(test_settings())


@dataclass
class BadgeApi:
    http: httpx.AsyncClient
    sessions: SessionFactory
    issuer: BadgeIssuer

    def auth(self, role: Role, sub: str | None = None) -> dict[str, str]:
        token = issue_token(AUTH_SECRET, sub=sub or uid(role.value), role=role)
        return {"Authorization": f"Bearer {token}"}

    def approved_badge(self, doc: CredentialDoc | None = None) -> tuple[Approved, str]:
        approved = approve(self.sessions, doc=doc)
        return approved, issue(self.sessions, self.issuer, approved)


@pytest.fixture
async def badge_api(sessions: SessionFactory, issuer: BadgeIssuer) -> AsyncIterator[BadgeApi]:
    """The real app over ``sessions`` (SQLite and PostgreSQL); badge routes need no Temporal."""
    state = AppState(
        settings=test_settings(auth_secret=AUTH_SECRET),
        sessions=sessions,
        workflows=Mock(spec=WorkflowClient),
        verifier=TokenVerifier(secret=AUTH_SECRET, jwks_url=None),
        issuer=issuer,
    )
    app = create_app(state=state)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield BadgeApi(http=http, sessions=sessions, issuer=issuer)
