"""Benchmark 4: the size of an enrolment's history.

Drives, through HTTP on ``microcred dev``'s components (SQLite): one full lifecycle with a
resubmission (purchase, work, submit, resubmit requested, resubmission paid, rework, submit,
approved, badge) and one without, then counts the events of every run of each workflow (a new
attempt continues as new). Then it saves task responses many times on an open enrolment and
shows that its history did not grow: saves go to the database, never through the workflow.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench import drive
from bench.stack import bench_settings, database, dev_stack, temporal_server
from microcred.identity import Role


@dataclass(frozen=True)
class Size:
    saves: int  # spread over the credential's three tasks, one client per task


SIZES = {"tiny": Size(saves=30), "full": Size(saves=1002), "scale": Size(saves=1002)}


async def runs_of(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """Every run of a workflow id, oldest first, with its event count, size and activities."""
    runs: list[dict[str, Any]] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events = history.events
        activities = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        last = EventType.Name(events[-1].event_type).removeprefix("EVENT_TYPE_").lower()
        runs.insert(
            0,
            {
                "events": len(events),
                "bytes": sum(e.ByteSize() for e in events),
                "activities": activities,
                "ends_with": last,
            },
        )
        previous = events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous:
            return runs
        run_id = previous


async def _with_resubmission(api: drive.Api, credential_id: str, evaluator: str) -> str:
    member = f"member-{uuid.uuid4().hex[:12]}"
    created = await api.enrol(member, credential_id)
    enrolment_id = str(created["id"])
    await api.pay(created["checkout_session_id"])
    await api.until_status(member, enrolment_id, "in_progress")
    for tasks in drive.TASKS.values():
        for task_id in tasks:
            await api.save(member, enrolment_id, task_id, f"first draft of {task_id}")
    await api.submit(member, enrolment_id)
    review = await api.assigned_review(evaluator, enrolment_id)
    await api.decide(evaluator, enrolment_id, review, unmet={"reflect"})
    started = await api.call("POST", f"/enrolments/{enrolment_id}/resubmission", member, Role.MEMBER, 201)
    await api.pay(started["checkout_session_id"])
    await api.until_status(member, enrolment_id, "in_progress")
    for task_id in drive.TASKS["reflect"]:
        await api.save(member, enrolment_id, task_id, f"better answer to {task_id}")
    await api.submit(member, enrolment_id)
    review = await api.assigned_review(evaluator, enrolment_id)
    await api.decide(evaluator, enrolment_id, review, unmet=set())
    return enrolment_id


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "runs": len(runs),
        "events": sum(r["events"] for r in runs),
        "largest_run_events": max(r["events"] for r in runs),
        "bytes": sum(r["bytes"] for r in runs),
        "activities": sum(r["activities"] for r in runs),
        "per_run": runs,
    }


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        async with temporal_server(workdir) as temporal, database("sqlite", workdir) as url:
            settings = bench_settings(workdir=workdir, database_url=url, temporal=temporal)
            async with (
                dev_stack(settings, temporal, workdir),
                drive.session(settings.public_base_url, connections=8) as http,
            ):
                client = temporal.client
                api = drive.Api(http)
                credential_id, evaluator = (
                    f"bench-{uuid.uuid4().hex[:8]}",
                    f"evaluator-{uuid.uuid4().hex[:8]}",
                )
                await api.setup(credential_id, evaluator)

                resubmitted = await _with_resubmission(api, credential_id, evaluator)
                await client.get_workflow_handle(f"enrolment-{resubmitted}").result()
                with_resubmission = _summary(await runs_of(client, f"enrolment-{resubmitted}"))

                simple = await drive.lifecycle(api, credential_id=credential_id, evaluator=evaluator)
                await client.get_workflow_handle(f"enrolment-{simple}").result()
                first_attempt_only = _summary(await runs_of(client, f"enrolment-{simple}"))

                saves = await _saves(api, client, credential_id, chosen)
    return {
        "description": "workflow history events per lifecycle (all runs: a new attempt continues as new), "
        "and the history length of an open enrolment before and after many task saves",
        "lifecycle_with_resubmission": with_resubmission,
        "lifecycle_first_attempt_approved": first_attempt_only,
        "task_saves": saves,
    }


async def _saves(api: drive.Api, client: Client, credential_id: str, size: Size) -> dict[str, Any]:
    member = f"member-{uuid.uuid4().hex[:12]}"
    created = await api.enrol(member, credential_id)
    enrolment_id = str(created["id"])
    await api.pay(created["checkout_session_id"])
    await api.until_status(member, enrolment_id, "in_progress")
    handle = client.get_workflow_handle(f"enrolment-{enrolment_id}")
    await asyncio.sleep(0.5)  # let the run loop settle (receipt notice) before the first count
    before = (await handle.describe()).raw_description.workflow_execution_info.history_length
    task_ids = [t for tasks in drive.TASKS.values() for t in tasks]
    per_task = size.saves // len(task_ids)
    began = time.perf_counter()

    async def save_many(task_id: str) -> None:
        for n in range(per_task):
            await api.save(member, enrolment_id, task_id, f"draft {n} of {task_id}")

    await asyncio.gather(*(save_many(t) for t in task_ids))
    elapsed = time.perf_counter() - began
    after = (await handle.describe()).raw_description.workflow_execution_info.history_length
    detail = await api.call("GET", f"/enrolments/{enrolment_id}", member, Role.MEMBER)
    versions = {t["id"]: t["version"] for s in detail["sections"] for t in s["tasks"]}
    return {
        "saves": per_task * len(task_ids),
        "saves_per_s": round(per_task * len(task_ids) / elapsed, 1),
        "history_events_before": before,
        "history_events_after": after,
        "events_added": after - before,
        "latest_versions": versions,
    }
