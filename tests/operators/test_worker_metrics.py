"""The worker's Prometheus endpoint after a lifecycle: Temporal SDK metrics and the business
counters the workflow emits (purchases, submissions, decisions, badges)."""

from __future__ import annotations

import logging
import re
import socket

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker
from microcred.db import SessionFactory
from tests.support import publish, register_evaluator, running_worker
from tests.workflows.harness import Harness, eventually


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
    doc = publish(own_sqlite)
    evaluator = register_evaluator(own_sqlite, credential_ids=[doc.id])

    async with running_worker(client, own_sqlite) as run:
        h = Harness.over(ts_env, run)
        created = await h.enrol(doc)
        await h.paid(created)
        await h.submit(created)
        await h.assigned(created, evaluator)
        await h.decide(created, evaluator)
        await eventually(lambda: h.row(created).badge_id, what="badge issued")
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
