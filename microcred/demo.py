"""The demo catalog that ``microcred dev`` seeds: two credentials and their own evaluators."""

from __future__ import annotations

from typing import Any

from microcred.db import SessionFactory, transaction
from microcred.documents import CredentialDoc
from microcred.identity import Role
from microcred.models import Credential, Evaluator
from microcred.services import catalog, people

DEMO_MEMBER = "demo-member"
DEMO_EVALUATOR = "demo-evaluator"
DEMO_ADMIN = "demo-admin"
# Whom the dev sign-in offers, with their roles.
PEOPLE = ((DEMO_MEMBER, Role.MEMBER), (DEMO_EVALUATOR, Role.EVALUATOR), (DEMO_ADMIN, Role.ADMIN))

CREDENTIALS: list[dict[str, Any]] = [
    {
        "id": "inquiry-in-practice",
        "title": "Inquiry in practice",
        "summary": "Plan, teach and reflect on an inquiry-based unit with your students.",
        "price": {"amount": 9900, "currency": "usd"},
        "resubmission_price": {"amount": 2900, "currency": "usd"},
        "community": {
            "id": "inquiry-practitioners",
            "name": "Inquiry practitioners",
            "url": "https://example.org/communities/inquiry-practitioners",
        },
        "sections": [
            {
                "id": "plan",
                "title": "Plan",
                "guidance": "Describe the unit you will teach and the question that drives it.",
                "resources": [{"title": "Planning guide", "url": "https://example.org/inquiry/planning"}],
                "tasks": [
                    {
                        "id": "plan-unit",
                        "prompt": "Describe the unit and its driving question.",
                        "required": True,
                    },
                    {
                        "id": "plan-notes",
                        "prompt": "Anything else the evaluator should know?",
                        "required": False,
                    },
                ],
                "rubric": [
                    {
                        "id": "plan-coherent",
                        "title": "Coherent plan",
                        "description": "Goals, activities and assessment fit together.",
                    }
                ],
            },
            {
                "id": "reflect",
                "title": "Reflect",
                "guidance": "After teaching the unit, reflect on what your students learned.",
                "resources": [
                    {"title": "Reflection prompts", "url": "https://example.org/inquiry/reflection"}
                ],
                "tasks": [
                    {
                        "id": "reflect-evidence",
                        "prompt": "What evidence of learning did you see?",
                        "required": True,
                        "evidence": {
                            "accept": ["application/pdf", "image/*", "video/mp4"],
                            "max_files": 5,
                            "max_bytes": 500 * 1024**2,
                        },
                    }
                ],
                "rubric": [
                    {
                        "id": "reflect-evidence",
                        "title": "Evidence-based reflection",
                        "description": "Claims are backed by student work.",
                    },
                    {
                        "id": "reflect-next",
                        "title": "Next steps",
                        "description": "Names concrete next steps.",
                    },
                ],
            },
        ],
    },
    {
        "id": "feedback-for-learning",
        "title": "Feedback for learning",
        "summary": "Give feedback that moves learning forward, and show its effect.",
        "price": {"amount": 7900, "currency": "usd"},
        "resubmission_price": {"amount": 1900, "currency": "usd"},
        "community": None,
        "sections": [
            {
                "id": "practice",
                "title": "Practice",
                "guidance": "Share three pieces of feedback you gave and the work they responded to.",
                "resources": [],
                "tasks": [{"id": "practice-examples", "prompt": "Your three examples.", "required": True}],
                "rubric": [
                    {
                        "id": "practice-actionable",
                        "title": "Actionable",
                        "description": "Students can act on it.",
                    }
                ],
            }
        ],
    },
]


def seed(sessions: SessionFactory) -> list[str]:
    """Publish the demo credentials and register the demo evaluator for them only (idempotent)."""
    published = []
    with transaction(sessions) as session:
        for raw in CREDENTIALS:
            doc = CredentialDoc.model_validate(raw)
            if session.get(Credential, doc.id) is None:
                catalog.publish(session, doc=doc)
                published.append(doc.id)
        if session.get(Evaluator, DEMO_EVALUATOR) is None:
            people.register_evaluator(
                session,
                evaluator_id=DEMO_EVALUATOR,
                name="Demo Evaluator",
                email="demo-evaluator@example.org",
                credential_ids=[str(raw["id"]) for raw in CREDENTIALS],
                all_credentials=False,
            )
    return published
