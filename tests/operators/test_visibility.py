"""What operators see and do in Temporal: search attributes, summaries and details, list
queries, repairs with the `temporal` CLI, and `microcred setup`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import select
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from microcred import binaries, setup
from microcred.db import SessionFactory, create_db_engine
from microcred.models import TimelineEntry
from microcred.temporal import names as temporal_names
from tests.support import member, publish, register_evaluator, running_worker, test_settings
from tests.workflows.harness import Harness
from tests.workflows.harness import eventually as harness_eventually
from workflows.enrolment.review import SUBMIT_KEEPS_WHAT_WENT_ON

T = TypeVar("T")


async def temporal_cli(*args: str) -> tuple[int, str]:
    """Run the temporal CLI without blocking the event loop (the worker shares it)."""
    process = await asyncio.create_subprocess_exec(
        binaries.find("temporal") or "temporal",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def eventually(probe: Callable[[], Awaitable[T]], attempts: int = 200) -> T:
    for _ in range(attempts):
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def upserted(event: HistoryEvent) -> dict[str, Any]:
    """What one upsert event sets (None for a value it unsets)."""
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    return {key: json.loads(payload.data) if payload.data else None for key, payload in fields.items()}


async def test_search_attributes_summary_details_and_list_queries(
    dev_env: WorkflowEnvironment, own_sqlite: SessionFactory
) -> None:
    sessions = own_sqlite
    doc = publish(sessions)
    evaluator = register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()
    async with running_worker(dev_env.client, sessions) as run:
        h = Harness.over(dev_env, run)
        created = await h.enrol(doc, someone)
        handle = dev_env.client.get_workflow_handle(created.workflow_id)
        description = await handle.describe()
        attributes = description.typed_search_attributes
        assert attributes.get(temporal_names.ENROLMENT_STATUS) == "awaiting_payment"
        assert attributes.get(temporal_names.MEMBER_ID) == someone.sub
        assert attributes.get(temporal_names.CREDENTIAL_ID) == doc.id
        assert await description.static_summary() == f"{doc.title} · {someone.email}"

        await h.pay(created)

        async def paid() -> bool:
            d = await handle.describe()
            return d.typed_search_attributes.get(temporal_names.ENROLMENT_STATUS) == "in_progress"

        await eventually(paid)
        row = h.row(created)
        description = await handle.describe()
        assert description.typed_search_attributes.get(temporal_names.DUE_AT) == row.due_at
        metadata = await handle.query("__temporal_workflow_metadata")
        details = metadata["currentDetails"] if isinstance(metadata, dict) else metadata.current_details
        assert "**in_progress**" in details and "Waiting for the member to submit" in details

        # The list queries of the README find it.
        query = f"EnrolmentStatus = 'in_progress' AND MemberId = '{someone.sub}'"

        async def listed() -> list[str]:
            return [w.id async for w in dev_env.client.list_workflows(query)]

        assert await eventually(listed) == [handle.id]

        await h.submit(created)

        async def assigned() -> bool:
            d = await handle.describe()
            return d.typed_search_attributes.get(temporal_names.EVALUATOR_ID) == evaluator

        await eventually(assigned)
        description = await handle.describe()
        row = h.row(created)
        assert description.typed_search_attributes.get(temporal_names.REVIEW_DUE_AT) == row.review_due_at
        assert description.typed_search_attributes.get(temporal_names.REVIEW_OVERDUE) is False

        # A repair with the temporal CLI, exactly as the README documents it.
        target = dev_env.client.service_client.config.target_host
        code, output = await temporal_cli(
            "workflow",
            "update",
            "execute",
            "--address",
            target,
            "--workflow-id",
            handle.id,
            "--name",
            "reassign_review",
            "--input",
            json.dumps({"actor": "ops-jane", "reason": "testing the CLI", "evaluator_id": None}),
        )
        # Only one evaluator is eligible: the workflow's handler refuses, and nothing changes.
        assert code != 0 and "no other eligible evaluator" in output, output
        code, output = await temporal_cli(
            "workflow",
            "update",
            "execute",
            "--address",
            target,
            "--workflow-id",
            handle.id,
            "--name",
            "extend_deadline",
            "--input",
            json.dumps({"actor": "ops-jane", "reason": "family emergency", "by": "P14D"}),
        )
        assert code == 0, output
        extended = h.row(created)
        assert row.due_at is not None
        assert extended.due_at == row.due_at + timedelta(days=14)
        with sessions() as session:
            entry = session.exec(
                select(TimelineEntry).where(
                    TimelineEntry.enrolment_id == created.id, TimelineEntry.kind == "deadline_extended"
                )
            ).one()
        assert entry.actor == "ops-jane"
        assert entry.detail is not None and entry.detail["reason"] == "family emergency"

        await h.decide(created, evaluator)

        async def finished() -> bool:
            d = await handle.describe()
            return d.status == WorkflowExecutionStatus.COMPLETED

        await eventually(finished)
        description = await handle.describe()
        assert description.typed_search_attributes.get(temporal_names.ENROLMENT_STATUS) == "approved"
        assert description.typed_search_attributes.get(temporal_names.REVIEW_DUE_AT) is None
        # Each upsert is a visibility write: only changes are sent, never the start's values
        # again; the SDK's own marks only the live patches (docs/workflow-versioning.md).
        upserts = [
            upserted(e)
            async for e in handle.fetch_history_events()
            if e.HasField("upsert_workflow_search_attributes_event_attributes")
        ]
        assert [u["TemporalChangeVersion"] for u in upserts if "TemporalChangeVersion" in u] == [
            [SUBMIT_KEEPS_WHAT_WENT_ON]
        ]
        assert [u["EnrolmentStatus"] for u in upserts if "EnrolmentStatus" in u] == [
            "in_progress",
            "under_review",
            "approved",
        ]
        assert not [u for u in upserts if {"MemberId", "CredentialId"} & u.keys()]
        metadata = await handle.query("__temporal_workflow_metadata")
        details = metadata["currentDetails"] if isinstance(metadata, dict) else metadata.current_details
        assert "Finished" in details and "Badge" in details


async def test_review_overdue_is_searchable(ts_env: WorkflowEnvironment, own_sqlite: SessionFactory) -> None:
    sessions = own_sqlite
    doc = publish(sessions)
    evaluator = register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()
    async with running_worker(ts_env.client, sessions) as run:
        h = Harness.over(ts_env, run)
        created = await h.enrol(doc, someone)
        await h.paid(created)
        await h.submit(created)
        await h.assigned(created, evaluator)
        await ts_env.sleep(timedelta(days=15))
        await harness_eventually(lambda: h.row_if(created, review_overdue=True), what="overdue")
        handle = ts_env.client.get_workflow_handle(created.workflow_id)
        description = await handle.describe()
        assert description.typed_search_attributes.get(temporal_names.REVIEW_OVERDUE) is True


async def test_setup_migrates_and_registers_idempotently(
    dev_env: WorkflowEnvironment, postgres_url: str
) -> None:
    settings = test_settings(
        database_url=postgres_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
    )
    await setup.run(settings)
    await setup.run(settings)  # a second run changes nothing and does not fail
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=dev_env.client.namespace)
    )
    assert {k.name for k in temporal_names.SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)
    with create_db_engine(postgres_url).connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() is not None
