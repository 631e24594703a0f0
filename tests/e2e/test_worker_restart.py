"""`microcred worker` stops cleanly on SIGTERM, and another worker carries on: nothing is lost.

A member pays while worker 1 runs; worker 1 is stopped; the member submits while no worker
runs (the update waits at the server); worker 2 starts and the submission goes through.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from microcred import migrate
from microcred.contracts import PaymentConfirmed, SubmitRequest
from microcred.db import create_db_engine, make_session_factory, transaction
from microcred.models import Enrolment
from microcred.services import enrolments, work
from microcred.temporal.client import WorkflowClient
from tests.support import member, publish, register_evaluator, uid


@asynccontextmanager
async def worker_process(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "microcred"), "worker", env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def logged(log: Path) -> str:
    return log.read_text() if log.exists() else ""


async def wait_for_log(log: Path, text: str) -> None:
    for _ in range(300):
        if text in await asyncio.to_thread(logged, log):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never logged:\n{logged(log)}")


async def test_sigterm_stops_the_worker_and_another_carries_on(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'microcred.db'}"
    migrate.upgrade(url)
    sessions = make_session_factory(create_db_engine(url))
    queue = uid("tq")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")},
        "MICROCRED_ENVIRONMENT": "test",
        "MICROCRED_DATABASE_URL": url,
        "MICROCRED_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "MICROCRED_TASK_QUEUE": queue,
        "MICROCRED_LOG_JSON": "true",
    }
    workflows = WorkflowClient(dev_env.client, task_queue=queue)
    doc = publish(sessions)
    register_evaluator(sessions, credential_ids=[doc.id])
    someone = member()
    log = tmp_path / "worker.log"

    def row() -> Enrolment:
        with sessions() as session:
            found = session.get(Enrolment, created.id)
            assert found is not None
            return found

    async with worker_process(env, log) as first:
        await wait_for_log(log, "worker polling task queue")
        created = await enrolments.enrol(
            sessions=sessions, workflows=workflows, principal=someone, credential_id=doc.id
        )
        await workflows.payment_confirmed(
            created.id,
            PaymentConfirmed(
                checkout_session_id=created.checkout_session_id or "",
                event_id="e",
                amount=9900,
                currency="usd",
            ),
        )
        for _ in range(300):
            if row().status == "in_progress":
                break
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 60) == 0
    assert '"message": "worker stopping: finishing in-flight activities"' in logged(log)

    for task_id in ("plan-1", "reflect-1"):
        with transaction(sessions) as session:
            work.save_task(
                session,
                enrolment_id=created.id,
                member_id=someone.sub,
                task_id=task_id,
                response="done",
                now=datetime.now(UTC),
            )
    submitted = asyncio.create_task(
        workflows.submit(
            created.id, SubmitRequest(agree_terms=True, answered_task_ids=["plan-1", "reflect-1"])
        )
    )
    await asyncio.sleep(1)
    assert not submitted.done()  # no worker: the update waits at the server, nothing is lost
    async with worker_process(env, log):
        result = await asyncio.wait_for(submitted, 60)
        assert result.status == "under_review"
        assert row().status == "under_review"
