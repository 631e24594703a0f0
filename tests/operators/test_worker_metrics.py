"""The worker's Prometheus endpoint after a lifecycle: Temporal SDK metrics and the business
counters the workflow emits (purchases, submissions, decisions, badges)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker
from microcred.contracts import DecisionRequest, Mark, Outcome, PaymentConfirmed, SubmitRequest
from microcred.db import SessionFactory, transaction
from microcred.models import Enrolment
from microcred.services import enrolments, work
from tests.support import member, publish, register_evaluator, running_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def until(predicate, attempts: int = 300) -> None:  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        if predicate():
            return
        await asyncio.sleep(0.03)
    raise AssertionError("condition not reached")


async def test_business_and_sdk_metrics_after_a_lifecycle(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    port = free_port()
    client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
        runtime=worker.metrics_runtime(port),
    )
    sessions = own_sqlite
    doc = publish(sessions)
    evaluator = register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()

    def status() -> Enrolment:
        with sessions() as session:
            row = session.get(Enrolment, created.id)
            assert row is not None
            return row

    async with running_worker(client, sessions) as run:
        created = await enrolments.enrol(
            sessions=sessions, lifecycle=run.lifecycle, principal=someone, credential_id=doc.id
        )
        await run.lifecycle.payment_confirmed(
            created.id,
            PaymentConfirmed(
                checkout_session_id=created.checkout_session_id or "",
                event_id="e",
                amount=9900,
                currency="usd",
            ),
        )
        await until(lambda: status().status == "in_progress")
        for task_id in ("plan-1", "reflect-1"):
            with transaction(sessions) as session:
                work.save_task(
                    session,
                    enrolment_id=created.id,
                    member_id=someone.sub,
                    task_id=task_id,
                    response="done",
                    now=status().updated_at,
                )
        await run.lifecycle.submit(
            created.id, SubmitRequest(agree_terms=True, answered_task_ids=["plan-1", "reflect-1"])
        )
        await until(lambda: status().evaluator_id == evaluator)
        await run.lifecycle.decide(
            created.id,
            DecisionRequest(
                evaluator_id=evaluator,
                outcome=Outcome.APPROVED,
                marks=[Mark(criterion_id=c, met=True) for c in ("plan-c", "reflect-c", "reflect-d")],
            ),
        )
        await until(lambda: status().badge_id is not None)
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    assert value(text, "microcred_purchases_total", credential_id=doc.id, kind="purchase") == 1
    assert value(text, "microcred_submissions_total", credential_id=doc.id) == 1
    assert value(text, "microcred_decisions_total", credential_id=doc.id, outcome="approved") == 1
    assert value(text, "microcred_badges_issued_total", credential_id=doc.id) == 1
    assert value(text, "microcred_expiries_total", credential_id=doc.id) == 0
    # The SDK's own runtime metrics come out of the same endpoint.
    assert re.search(r"^temporal_activity_execution_latency\w*\{", text, re.MULTILINE)
    assert value(text, "temporal_workflow_task_execution_latency_count") > 0

    # Every transition is logged with the enrolment and workflow ids (JSON fields in production).
    logged = [r for r in caplog.records if getattr(r, "enrolment_id", None) == created.id]
    assert {getattr(r, "event", None) for r in logged} >= {"payment_confirmed", "submitted", "decided"}
    assert all(r.temporal_workflow["workflow_id"] == f"enrolment-{created.id}" for r in logged)  # type: ignore[attr-defined]
