"""The hourly sweep: a Temporal Schedule starts a workflow whose activity removes stale uploads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import ScheduleIntervalSpec
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import worker as worker_module
from activities.evidence import EvidenceActivities
from microcred.contracts import SweepResult
from microcred.db import SessionFactory, transaction
from microcred.models import Attachment, Enrolment, Member
from microcred.services.evidence import Evidence
from microcred.storage import attachment_key
from microcred.storage.local import LocalStore
from microcred.temporal.names import EVIDENCE_SWEEP_SCHEDULE, EVIDENCE_SWEEP_WORKFLOW
from microcred.temporal.setup import SWEEP_EVERY, schedule_sweeps
from tests.evidence.files import pdf, sha256
from tests.support import member, publish, test_settings, uid
from workflows.sweep import EvidenceSweepWorkflow


async def test_the_sweep_workflow_removes_a_stale_upload(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path, secret="s" * 40, base_url="http://testserver/api/v1/storage")
    evidence = Evidence.from_settings(test_settings(auth_secret="s" * 40), store=store)
    doc = publish(own_sqlite)
    person = member()
    enrolment_id, stale_id = uuid.uuid4().hex, str(uuid.uuid4())
    with transaction(own_sqlite) as session:
        session.add(Member(id=person.sub))
        session.flush()
        session.add(
            Enrolment(id=enrolment_id, member_id=person.sub, credential_id=doc.id, status="in_progress")
        )
        session.flush()
        data = pdf(b"stale")
        session.add(
            Attachment(
                id=stale_id,
                enrolment_id=enrolment_id,
                task_id="plan-1",
                filename="a.pdf",
                content_type="application/pdf",
                size=len(data),
                sha256=sha256(data),
                status="pending",
                created_at=datetime.now(UTC) - timedelta(days=2),
            )
        )
    url = store.upload_request(
        attachment_key(enrolment_id, stale_id), size=len(data), content_type="application/pdf", expires_in=60
    )
    grant = store.grant(url.url.rsplit("/", 1)[1], ops=("put",))

    async def body() -> AsyncIterator[bytes]:
        yield data

    await store.receive(grant, body())
    assert store.read(attachment_key(enrolment_id, stale_id)) is not None

    queue = uid("tq")
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[EvidenceSweepWorkflow],
        activities=[EvidenceActivities(own_sqlite, evidence).sweep_stale],
        activity_executor=ThreadPoolExecutor(2),
        interceptors=worker_module.INTERCEPTORS,
    ):
        result = await ts_env.client.execute_workflow(
            EVIDENCE_SWEEP_WORKFLOW, id=uid("sweep"), task_queue=queue, result_type=SweepResult
        )
    assert result.removed == 1
    assert store.read(attachment_key(enrolment_id, stale_id)) is None
    with own_sqlite() as session:
        assert session.get(Attachment, stale_id) is None


async def test_setup_schedules_the_sweep_once(dev_env: WorkflowEnvironment) -> None:
    queue = uid("tq")
    first = await schedule_sweeps(dev_env.client, task_queue=queue)
    again = await schedule_sweeps(dev_env.client, task_queue=queue)
    assert (first, again) == (True, False)
    described = await dev_env.client.get_schedule_handle(EVIDENCE_SWEEP_SCHEDULE).describe()
    assert described.schedule.spec.intervals == [ScheduleIntervalSpec(every=SWEEP_EVERY)]
    assert described.schedule.action.workflow == EVIDENCE_SWEEP_WORKFLOW  # type: ignore[attr-defined]
