"""Benchmark 1: complete lifecycles per second, the product against the bare engine.

The product: ``microcred dev``'s components (its worker and API processes, on SQLite; and a
second pair on PostgreSQL) driven through HTTP by concurrent members and one evaluator:
enrol -> offline payment webhook -> 3 task saves -> submit -> approved, and the lifecycle
counts as complete when its workflow has finished (badge issued).

The baseline: ``bench.bare.BareLifecycle`` on the same dev server, on a worker of its own with
the same settings, receiving the same messages and running as many no-op activities at each
stage as a real lifecycle's history shows (counted in this run, from the first product
lifecycle's history). Every side runs the same number of lifecycles at the same concurrency.

Side by side, fairly: the three sides start together and are warmed up (which also warms the
shared Temporal server), then measured in interleaved rounds, each round in a rotated order.
A shared server gets slower as its store fills, and a fresh one starts slow, so a fixed order
(all of one side, then all of the next) would charge that drift to whichever side comes last
or first. Each figure sums all rounds; the ratio of each round is reported too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench import drive
from bench.bare import BareLifecycle, BarePlan
from bench.stack import (
    POSTGRES_ADMIN_URL,
    CpuMeter,
    Service,
    Temporal,
    bench_settings,
    database,
    dev_stack,
    service,
    temporal_server,
)
from bench.statements import StatementLog
from bench.stats import latency_ms, ratio

TARGET_RATIO = 0.5
SIDES = ("bare", "sqlite", "postgres")


@dataclass(frozen=True)
class Size:
    lifecycles: int  # per side and round
    concurrency: int
    warmup: int  # per side, before the first round
    rounds: int


SIZES = {
    "tiny": Size(lifecycles=4, concurrency=4, warmup=1, rounds=1),
    "full": Size(lifecycles=48, concurrency=16, warmup=16, rounds=5),
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


@dataclass
class Side:
    """One side of the comparison, running: how to drive one lifecycle, and what it measured."""

    name: str
    one: Callable[[], Awaitable[float]]
    processes: dict[str, Service]
    api: drive.Api | None = None
    steps: list[drive.Steps] = field(default_factory=list)
    seconds: float = 0.0
    durations: list[float] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)
    rounds: list[float] = field(default_factory=list)  # lifecycles/s of each round
    last: str = ""  # the workflow id of the latest finished lifecycle
    # PostgreSQL's own count of the statements of this side's database, in the measured rounds
    statement_log: StatementLog | None = None
    database_name: str = ""
    statements: Counter[str] = field(default_factory=Counter)

    async def measure(self, temporal: Temporal, size: Size) -> None:
        """One round: ``size.lifecycles`` lifecycles, with the CPU of every process involved."""
        before = self._counters()
        pids = {name: process.pid for name, process in self.processes.items()}
        cpu = CpuMeter(pids | {"temporal_server": temporal.pid, "driver": os.getpid()})
        log_from = await asyncio.to_thread(self.statement_log.offset) if self.statement_log else 0
        cpu.start()
        elapsed, durations = await _run_many(size.lifecycles, size.concurrency, self.one)
        if self.statement_log is not None:
            log_to = await asyncio.to_thread(self.statement_log.offset)
            counted = await asyncio.to_thread(self.statement_log.window, self.database_name, log_from, log_to)
            self.statements.update(counted.by_kind)
        for name, ms in cpu.per(1).items():
            self.cpu_ms[name] = self.cpu_ms.get(name, 0.0) + ms
        for name, value in self._counters().items():
            self.counted[name] = self.counted.get(name, 0) + value - before[name]
        self.seconds += elapsed
        self.durations += durations
        self.rounds.append(round(size.lifecycles / elapsed, 2))

    def _counters(self) -> dict[str, int]:
        if self.api is None:
            return {}
        return {"requests": self.api.requests, "polls": self.api.polls}

    def result(self) -> dict[str, Any]:
        count = len(self.durations)
        figures: dict[str, Any] = {
            "lifecycles": count,
            "seconds": round(self.seconds, 2),
            "lifecycles_per_s": round(count / self.seconds, 2),
            "rounds_lifecycles_per_s": self.rounds,
            "lifecycle_latency_ms": latency_ms(self.durations),
            "cpu_ms_per_lifecycle": {name: round(ms / count, 1) for name, ms in self.cpu_ms.items()},
        }
        if self.statement_log is not None:
            figures["statements_per_lifecycle"] = round(sum(self.statements.values()) / count, 1)
            figures["statements_per_lifecycle_by_kind"] = {
                kind: round(n / count, 2) for kind, n in self.statements.most_common()
            }
        if self.api is not None:
            figures |= {
                "step_mean_ms": {
                    name: round(
                        1000 * sum(s.durations.get(name, 0.0) for s in self.steps) / len(self.steps), 1
                    )
                    for name in self.steps[0].durations
                },
                "http_requests_per_lifecycle": round(self.counted["requests"] / count, 1),
                "polls_per_lifecycle": round(self.counted["polls"] / count, 1),
            }
        return figures | {"process_memory": {name: p.memory() for name, p in self.processes.items()}}


@contextlib.asynccontextmanager
async def _product(temporal: Temporal, workdir: Path, db: str, size: Size) -> AsyncIterator[Side]:
    """microcred dev's worker and API on ``db``, with the credential and evaluator set up."""
    statement_log = None
    if db == "postgres":
        statement_log = await asyncio.to_thread(StatementLog.find, POSTGRES_ADMIN_URL)
    async with database(db, workdir, log_statements=statement_log is not None) as url:
        settings = bench_settings(workdir=workdir, database_url=url, temporal=temporal)
        async with (
            dev_stack(settings, temporal, workdir) as dev,
            drive.session(settings.public_base_url, connections=4 * size.concurrency) as http,
        ):
            api = drive.Api(http)
            credential_id, evaluator = f"bench-{uuid.uuid4().hex[:8]}", f"evaluator-{uuid.uuid4().hex[:8]}"
            await api.setup(credential_id, evaluator)

            async def one() -> float:
                began = time.perf_counter()
                timing = drive.Steps()
                enrolment_id = await drive.lifecycle(
                    api, credential_id=credential_id, evaluator=evaluator, steps=timing
                )
                await temporal.client.get_workflow_handle(f"enrolment-{enrolment_id}").result()
                timing.mark("badge_and_close")
                side.steps.append(timing)
                side.last = f"enrolment-{enrolment_id}"
                return time.perf_counter() - began

            side = Side(
                name=db,
                one=one,
                processes=dev,
                api=api,
                statement_log=statement_log,
                database_name=url.rsplit("/", 1)[-1],
            )
            yield side


@contextlib.asynccontextmanager
async def _bare(temporal: Temporal, workdir: Path, plan: BarePlan) -> AsyncIterator[Side]:
    settings = bench_settings(workdir=workdir, database_url="sqlite://", temporal=temporal)
    client = temporal.client
    async with service("bare-worker", settings, temporal, workdir) as bare:

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
            side.last = handle.id
            return time.perf_counter() - began

        side = Side(name="bare", one=one, processes={"worker": bare})
        yield side


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        for name in SIDES:
            (workdir / name).mkdir()
        async with temporal_server(workdir) as temporal, contextlib.AsyncExitStack() as stack:
            sqlite = await stack.enter_async_context(_product(temporal, workdir / "sqlite", "sqlite", chosen))
            # The first product lifecycle's history tells the baseline what to match.
            await _run_many(1, 1, sqlite.one)
            plan, product_history = await history_counts(temporal.client, sqlite.last)
            bare = await stack.enter_async_context(_bare(temporal, workdir / "bare", plan))
            postgres = await stack.enter_async_context(
                _product(temporal, workdir / "postgres", "postgres", chosen)
            )
            sides: dict[str, Side] = {"bare": bare, "sqlite": sqlite, "postgres": postgres}
            for side in sides.values():
                await _run_many(chosen.warmup, chosen.concurrency, side.one)
                side.steps.clear()
            for number in range(chosen.rounds):
                for name in SIDES[number % 3 :] + SIDES[: number % 3]:
                    await sides[name].measure(temporal, chosen)
            _, bare_history = await history_counts(temporal.client, bare.last)
            results = {name: side.result() for name, side in sides.items()}
    results["bare"]["history"] = bare_history
    bare_rate = results["bare"]["lifecycles_per_s"]
    by_round = {
        db: [
            ratio(p, b)
            for p, b in zip(
                results[db]["rounds_lifecycles_per_s"],
                results["bare"]["rounds_lifecycles_per_s"],
                strict=True,
            )
        ]
        for db in ("sqlite", "postgres")
    }
    return {
        "description": "complete lifecycles/s through the HTTP API (microcred dev's worker and API "
        "processes) vs a bare Temporal workflow with the same messages and activity count, same dev server",
        "concurrency": chosen.concurrency,
        "lifecycles": chosen.lifecycles * chosen.rounds,
        "rounds": chosen.rounds,
        "how": "the three sides run side by side on one dev server: all started and warmed up "
        f"({chosen.warmup} lifecycles each), then {chosen.rounds} interleaved rounds of "
        f"{chosen.lifecycles} lifecycles per side in rotated order; figures sum the rounds",
        "matching": {
            "how": "counted in this run from the first product lifecycle's history: activities per stage "
            "(between messages, and inside the submit/decide updates), 1 payment signal, updates "
            "checkout/submit/decide; the bare workflow runs that many no-op activities at each stage",
            "plan": plan.model_dump() | {"activities": plan.activities},
            "product_history": product_history,
        },
        **results,
        "ratio_sqlite_to_bare": ratio(results["sqlite"]["lifecycles_per_s"], bare_rate),
        "ratio_postgres_to_bare": ratio(results["postgres"]["lifecycles_per_s"], bare_rate),
        "ratio_by_round": by_round,
        # At CPU saturation the rates would stand as the CPU each lifecycle costs (all processes:
        # worker and API, Temporal server, load driver): a steadier figure on a shared machine.
        "cpu_ratio_sqlite_to_bare": ratio(_cpu_total(results["bare"]), _cpu_total(results["sqlite"])),
        "cpu_ratio_postgres_to_bare": ratio(_cpu_total(results["bare"]), _cpu_total(results["postgres"])),
        "target_ratio": TARGET_RATIO,
    }


def _cpu_total(result: dict[str, Any]) -> float:
    return float(sum(result["cpu_ms_per_lifecycle"].values()))
