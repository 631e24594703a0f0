"""Benchmark 1: complete lifecycles per second, the product against the bare engine.

The product: ``microcred dev``'s components (its worker and API processes, on SQLite; then
again on PostgreSQL) driven through HTTP by concurrent members and one evaluator:
enrol -> offline payment webhook -> 3 task saves -> submit -> approved, and the lifecycle
counts as complete when its workflow has finished (badge issued).

The baseline: ``bench.bare.BareLifecycle`` on the same dev server, on a worker of its own with
the same settings, receiving the same messages and running as many no-op activities at each
stage as a real lifecycle's history shows (counted in this run, from the first product
lifecycle's history). Both sides run the same number of lifecycles at the same concurrency.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench import drive
from bench.bare import BareLifecycle, BarePlan
from bench.stack import CpuMeter, Temporal, bench_settings, database, dev_stack, service, temporal_server
from bench.stats import latency_ms, ratio

TARGET_RATIO = 0.5


@dataclass(frozen=True)
class Size:
    lifecycles: int
    concurrency: int
    warmup: int


SIZES = {
    "tiny": Size(lifecycles=4, concurrency=4, warmup=1),
    "full": Size(lifecycles=48, concurrency=16, warmup=4),
}
SIZES["scale"] = SIZES["full"]


# --- matching the baseline to a real history ---------------------------------------------------


async def history_counts(client: Client, workflow_id: str) -> tuple[BarePlan, dict[str, Any]]:
    """The activities at each stage of one real lifecycle, and what else its history holds."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    bucket = "after_start"
    plan = dict.fromkeys(BarePlan.model_fields, 0)
    open_updates: dict[str, str] = {}
    activities: dict[str, int] = {}
    updates: dict[str, int] = {}
    signals = workflow_tasks = 0
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signals += 1
            bucket = "after_payment"
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
            name = accepted.input.name
            updates[name] = updates.get(name, 0) + 1
            open_updates[accepted.meta.update_id] = name
            if name in ("submit", "decide"):
                bucket = f"in_{name}"
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            name = open_updates.get(
                event.workflow_execution_update_completed_event_attributes.meta.update_id, ""
            )
            if name in ("submit", "decide"):
                bucket = f"after_{name}"
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            plan[bucket] += 1
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            activities[name] = activities.get(name, 0) + 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            workflow_tasks += 1
    counts = {
        "events": len(history.events),
        "workflow_tasks": workflow_tasks,
        "activities": sum(activities.values()),
        "activities_by_type": dict(sorted(activities.items())),
        "signals": signals,
        "updates_by_name": dict(sorted(updates.items())),
    }
    return BarePlan(**plan), counts


# --- running N lifecycles -----------------------------------------------------------------------


async def _run_many(
    count: int, concurrency: int, one: Callable[[], Awaitable[float]]
) -> tuple[float, list[float]]:
    """Run ``count`` lifecycles, ``concurrency`` at a time; (elapsed seconds, per-lifecycle seconds)."""
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> float:
        async with gate:
            return await one()

    started = time.perf_counter()
    durations = await asyncio.gather(*(gated() for _ in range(count)))
    return time.perf_counter() - started, list(durations)


async def _product(
    temporal: Temporal, workdir: Path, db: str, size: Size, plan_from: list[Any]
) -> dict[str, Any]:
    async with database(db, workdir) as url:
        settings = bench_settings(workdir=workdir, database_url=url, temporal=temporal)
        limits = httpx.Limits(
            max_connections=4 * size.concurrency, max_keepalive_connections=4 * size.concurrency
        )
        async with (
            dev_stack(settings, temporal, workdir) as dev,
            httpx.AsyncClient(base_url=settings.public_base_url, timeout=120, limits=limits) as http,
        ):
            api = drive.Api(http)
            credential_id, evaluator = f"bench-{uuid.uuid4().hex[:8]}", f"evaluator-{uuid.uuid4().hex[:8]}"
            await api.setup(credential_id, evaluator)
            steps: list[drive.Steps] = []

            async def one() -> float:
                began = time.perf_counter()
                timing = drive.Steps()
                enrolment_id = await drive.lifecycle(
                    api, credential_id=credential_id, evaluator=evaluator, steps=timing
                )
                await temporal.client.get_workflow_handle(f"enrolment-{enrolment_id}").result()
                timing.mark("badge_and_close")
                steps.append(timing)
                if not plan_from:
                    plan_from.append(enrolment_id)
                return time.perf_counter() - began

            await _run_many(size.warmup, size.concurrency, one)
            steps.clear()
            requests, polls, early = api.requests, api.polls, api.early_decisions
            pids = {name: process.pid for name, process in dev.items()}
            cpu = CpuMeter(pids | {"temporal_server": temporal.pid, "driver": os.getpid()})
            cpu.start()
            elapsed, durations = await _run_many(size.lifecycles, size.concurrency, one)
            cpu_ms = cpu.per(size.lifecycles)
            requests, polls, early = api.requests - requests, api.polls - polls, api.early_decisions - early
            memory = {name: process.memory() for name, process in dev.items()}
    return {
        "database": db,
        "lifecycles": size.lifecycles,
        "seconds": round(elapsed, 2),
        "lifecycles_per_s": round(size.lifecycles / elapsed, 2),
        "lifecycle_latency_ms": latency_ms(durations),
        "step_mean_ms": {
            name: round(1000 * sum(s.durations.get(name, 0.0) for s in steps) / len(steps), 1)
            for name in steps[0].durations
        },
        "cpu_ms_per_lifecycle": cpu_ms,
        "http_requests_per_lifecycle": round(requests / size.lifecycles, 1),
        "polls_per_lifecycle": round(polls / size.lifecycles, 1),
        "decisions_refused_not_assigned": early,
        "process_memory": memory,
    }


async def _bare(temporal: Temporal, workdir: Path, plan: BarePlan, size: Size) -> dict[str, Any]:
    settings = bench_settings(workdir=workdir, database_url="sqlite://", temporal=temporal)
    client = temporal.client
    async with service("bare-worker", settings, temporal, workdir) as bare:
        last: list[str] = []

        async def one() -> float:
            began = time.perf_counter()
            handle = await client.start_workflow(
                BareLifecycle.run, plan, id=f"bare-{uuid.uuid4().hex}", task_queue=settings.task_queue
            )
            await handle.execute_update(BareLifecycle.checkout)
            await handle.signal(BareLifecycle.paid)
            await handle.execute_update(BareLifecycle.submit)
            await handle.execute_update(BareLifecycle.decide)
            await handle.result()
            last[:] = [handle.id]
            return time.perf_counter() - began

        await _run_many(size.warmup, size.concurrency, one)
        cpu = CpuMeter({"worker": bare.pid, "temporal_server": temporal.pid, "driver": os.getpid()})
        cpu.start()
        elapsed, durations = await _run_many(size.lifecycles, size.concurrency, one)
        cpu_ms = cpu.per(size.lifecycles)
        memory = bare.memory()
        _, counts = await history_counts(client, last[0])
    return {
        "lifecycles": size.lifecycles,
        "seconds": round(elapsed, 2),
        "lifecycles_per_s": round(size.lifecycles / elapsed, 2),
        "lifecycle_latency_ms": latency_ms(durations),
        "cpu_ms_per_lifecycle": cpu_ms,
        "history": counts,
        "process_memory": memory,
    }


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        async with temporal_server(workdir) as temporal:
            for part in ("sqlite", "bare", "postgres"):
                (workdir / part).mkdir()
            first: list[Any] = []
            sqlite = await _product(temporal, workdir / "sqlite", "sqlite", chosen, first)
            plan, product_history = await history_counts(temporal.client, f"enrolment-{first[0]}")
            bare = await _bare(temporal, workdir / "bare", plan, chosen)
            postgres = await _product(temporal, workdir / "postgres", "postgres", chosen, first)
    bare_rate = bare["lifecycles_per_s"]
    return {
        "description": "complete lifecycles/s through the HTTP API (microcred dev's worker and API "
        "processes) vs a bare Temporal workflow with the same messages and activity count, same dev server",
        "concurrency": chosen.concurrency,
        "lifecycles": chosen.lifecycles,
        "matching": {
            "how": "counted in this run from the first product lifecycle's history: activities per stage "
            "(between messages, and inside the submit/decide updates), 1 payment signal, updates "
            "checkout/submit/decide; the bare workflow runs that many no-op activities at each stage",
            "plan": plan.model_dump() | {"activities": plan.activities},
            "product_history": product_history,
        },
        "bare": bare,
        "sqlite": sqlite,
        "postgres": postgres,
        "ratio_sqlite_to_bare": ratio(sqlite["lifecycles_per_s"], bare_rate),
        "ratio_postgres_to_bare": ratio(postgres["lifecycles_per_s"], bare_rate),
        # At CPU saturation the rates would stand as the CPU each lifecycle costs (all processes:
        # worker and API, Temporal server, load driver): a steadier figure on a shared machine.
        "cpu_ratio_sqlite_to_bare": ratio(_cpu_total(bare), _cpu_total(sqlite)),
        "cpu_ratio_postgres_to_bare": ratio(_cpu_total(bare), _cpu_total(postgres)),
        "target_ratio": TARGET_RATIO,
    }


def _cpu_total(result: dict[str, Any]) -> float:
    return float(sum(result["cpu_ms_per_lifecycle"].values()))
