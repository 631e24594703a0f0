from __future__ import annotations
import asyncio
from datetime import timedelta
import time
from temporalio.testing import WorkflowEnvironment
from microcred.contracts import SubmitRequest
from microcred.db import SessionFactory
from tests.support import credential_doc, publish
from tests.workflows.harness import running, eventually


async def test_exp(ts_env: WorkflowEnvironment, db: SessionFactory) -> None:
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=[]))
    async with running(ts_env, db, keep=True) as h:
        e = await h.enrol(doc)
        paid = await h.paid(e)
        h.save(e, "plan-1"); h.save(e, "reflect-1")
        await h.quiet(e)
    tq = h.task_queue
    t = time.monotonic()
    submit = asyncio.create_task(h.lifecycle.submit(e.id, SubmitRequest(agree_terms=True, answered_task_ids=["plan-1", "reflect-1"])))
    await h.advance_to(paid.due_at + timedelta(seconds=1))
    print("advance took", time.monotonic() - t)
    async with running(ts_env, db, task_queue=tq) as h2:
        h2.started.append(e.workflow_id)
        try:
            print(await submit)
        except Exception as exc:
            print("ERR", repr(exc), getattr(exc, "extra", None))
        print(await h2.result(e))
        async for ev in h2.handle(e).fetch_history_events():
            print("  ", ev.event_id, ev.WhichOneof("attributes"))
