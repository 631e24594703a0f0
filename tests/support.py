"""Test helpers: credential documents, people, and a running worker over real activities."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

import worker as worker_module
from activities.notifications import MailSettings
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import SessionFactory, transaction
from microcred.documents import CredentialDoc
from microcred.identity import Principal, Role
from microcred.models import Evaluator, EvaluatorCredential, Payment
from microcred.payments import OfflineGateway, PaymentGateway
from microcred.services import catalog, readmodel
from microcred.temporal.client import WorkflowClient

API_BASE = "http://testserver/api/v1"
# In tests a bug in a workflow fails it at once (in production the task retries until a fix ships),
# so a broken test fails instead of hanging.
FAIL_FAST: dict[str, Any] = {"workflow_failure_exception_types": [Exception]}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def credential_doc(**overrides: Any) -> CredentialDoc:
    """A two-section credential with a fresh id; policies overridable."""
    doc: dict[str, Any] = {
        "id": uid("cred"),
        "title": "Inquiry in practice",
        "summary": "Plan and reflect on an inquiry unit.",
        "price": {"amount": 9900, "currency": "usd"},
        "resubmission_price": {"amount": 2900, "currency": "usd"},
        "community": None,
        "sections": [
            {
                "id": "plan",
                "title": "Plan",
                "guidance": "Describe the unit you will teach.",
                "resources": [{"title": "Guide", "url": "https://example.org/guide"}],
                "tasks": [
                    {"id": "plan-1", "prompt": "Describe the unit.", "required": True},
                    {"id": "plan-2", "prompt": "Anything else?", "required": False},
                ],
                "rubric": [
                    {"id": "plan-c", "title": "Coherent plan", "description": "The plan hangs together."}
                ],
            },
            {
                "id": "reflect",
                "title": "Reflect",
                "guidance": "Reflect on what happened.",
                "resources": [],
                "tasks": [{"id": "reflect-1", "prompt": "What did you learn?", "required": True}],
                "rubric": [
                    {"id": "reflect-c", "title": "Honest reflection", "description": "Evidence-based."},
                    {"id": "reflect-d", "title": "Next steps", "description": "Names next steps."},
                ],
            },
        ],
    }
    doc.update(overrides)
    return CredentialDoc.model_validate(doc)


def publish(sessions: SessionFactory, doc: CredentialDoc | None = None) -> CredentialDoc:
    doc = doc or credential_doc()
    with transaction(sessions) as session:
        catalog.publish(session, doc=doc)
    return doc


def register_evaluator(
    sessions: SessionFactory, evaluator_id: str | None = None, credential_ids: list[str] | None = None
) -> str:
    evaluator_id = evaluator_id or uid("evaluator")
    with transaction(sessions) as session:
        session.add(
            Evaluator(
                id=evaluator_id,
                name=f"Evaluator {evaluator_id}",
                email=f"{evaluator_id}@example.org",
                all_credentials=not credential_ids,
            )
        )
        session.flush()
        for cid in credential_ids or []:
            session.add(EvaluatorCredential(evaluator_id=evaluator_id, credential_id=cid))
    return evaluator_id


def webhook_recorded(sessions: SessionFactory, checkout_session_id: str, *, amount: int) -> None:
    """What the payment webhook writes before it signals the workflow: for tests where the signal
    never comes (the API stopped in between, say, and Stripe retries the event only later)."""
    with transaction(sessions) as session:
        payment = session.get(Payment, checkout_session_id)
        assert payment is not None
        readmodel.record_paid(
            session, payment, amount=amount, currency="usd", payment_intent="pi_1", source="evt_1"
        )


def webhook_processing(sessions: SessionFactory, checkout_session_id: str) -> None:
    """What the webhook writes when a checkout is completed with a payment that confirms days
    later (``checkout.session.completed`` with ``payment_status: unpaid``, a bank debit)."""
    with transaction(sessions) as session:
        payment = session.get(Payment, checkout_session_id)
        assert payment is not None and payment.status == "open"
        readmodel.record_processing(payment)


def member(sub: str | None = None) -> Principal:
    sub = sub or uid("member")
    return Principal(sub=sub, role=Role.MEMBER, email=f"{sub}@example.org", name=f"Member {sub}")


@dataclass
class Running:
    client: Client
    sessions: SessionFactory
    workflows: WorkflowClient
    task_queue: str


def test_settings(**overrides: Any) -> Settings:
    return Settings(environment="test", public_base_url="http://testserver", **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@asynccontextmanager
async def running_worker(
    client: Client,
    sessions: SessionFactory,
    *,
    gateway: PaymentGateway | None = None,
    issuer: BadgeIssuer | None = None,
    mail: MailSettings | None = None,
    activities: list[Any] | None = None,
) -> AsyncIterator[Running]:
    """A worker with the real activities (or ``activities``) on a fresh task queue."""
    task_queue = uid("tq")
    deps = worker_module.WorkerDeps(
        sessions=sessions,
        gateway=gateway or OfflineGateway(api_base_url=API_BASE),
        issuer=issuer or BadgeIssuer.from_settings(test_settings()),
        # Mail delivery workflows must start on this worker's queue, whatever ``mail`` said.
        mail=replace(mail, task_queue=task_queue)
        if mail
        else MailSettings(smtp=None, mail_from="test@example.org", admin_emails=(), task_queue=task_queue),
        api_base_url=API_BASE,
    )
    with ThreadPoolExecutor(max_workers=8) as executor:
        if activities is None:
            built = worker_module.build_worker(
                client,
                deps,
                task_queue=task_queue,
                executor=executor,
                max_concurrent_activities=8,
                **FAIL_FAST,
            )
        else:
            built = Worker(
                client,
                task_queue=task_queue,
                workflows=list(worker_module.WORKFLOWS),
                activities=activities,
                activity_executor=executor,
                max_concurrent_activities=8,
                graceful_shutdown_timeout=timedelta(seconds=5),
                interceptors=worker_module.INTERCEPTORS,
                **FAIL_FAST,
            )
        async with built:
            yield Running(client, sessions, WorkflowClient(client, task_queue=task_queue), task_queue)
