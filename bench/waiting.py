"""Benchmark 3: the scale of waiting. Thousands of open enrolments parked on their timers.

Members and their reserved enrolment rows are bulk-loaded into a fresh PostgreSQL database
(what ``POST /enrolments`` writes before it starts a workflow); then the enrolments' workflows
are started through ``Lifecycle.start``, the call the API makes, which answers once the
checkout is open and recorded. Each then sleeps on its payment window's timer (PT24H).
The worker runs as its own process (``microcred worker``'s code, ``worker.run``) with its
sticky workflow cache bounded by ``MICROCRED_MAX_CACHED_WORKFLOWS``; its resident memory is
read from /proc at each checkpoint.

Timer lag: a further batch is started with payment windows chosen so that every checkout
expires at the same moment (a few seconds after the last start). Catalog rules keep payment
windows between PT30M and PT24H, because Stripe's checkout sessions do; the workflow takes its
window from the credential outline in its input, so this benchmark passes short windows there
(the catalog row itself keeps a valid PT30M). The lag of each enrolment is the time from its
checkout's expiry (the payment row's ``expires_at``) to the read model showing ``cancelled``
(the row's ``updated_at``, written in the same transaction): timer fired, workflow task run
(a replay from history for workflows evicted from the cache), record activity committed.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.drive import credential_doc
from bench.stack import CpuMeter, Service, bench_settings, database, libpq_url, service, temporal_server
from bench.stats import latency_ms
from microcred.contracts import CredentialOutline
from microcred.db import create_db_engine, make_session_factory, transaction
from microcred.documents import CredentialDoc
from microcred.services import catalog
from microcred.temporal.client import WorkflowClient

SETTLE_SECONDS = 2.0  # after a checkpoint, before memory is read: the last tasks finish
LAG_TIMEOUT = 180.0
BATCH_START_CONCURRENCY = 8
BATCH_LEAD_FACTOR = 3.0  # the batch starts at lower concurrency, so more slowly than the parked ones


@dataclass(frozen=True)
class Size:
    checkpoints: tuple[int, ...]
    batch: int
    max_cached_workflows: int
    start_concurrency: int


# ``full`` fits the 10-minute budget of ``make bench`` on 2 cores: its cache is a quarter of the
# largest population, so the curve shows memory flat once the cache is full. ``scale`` is the
# 1k/5k/10k curve at the default cache of 1000 (about 15-30 minutes on 2 cores: each start costs
# ~50 ms of worker CPU and ~90 ms of dev-server CPU).
SIZES = {
    "tiny": Size(checkpoints=(40, 80, 160), batch=20, max_cached_workflows=50, start_concurrency=16),
    "full": Size(checkpoints=(250, 500, 1000), batch=200, max_cached_workflows=250, start_concurrency=64),
    "scale": Size(
        checkpoints=(1000, 5000, 10000), batch=500, max_cached_workflows=1000, start_concurrency=64
    ),
}


def _prepare(
    url: str, parked_count: int, batch: int
) -> tuple[CredentialOutline, CredentialOutline, list[tuple[str, str]]]:
    """Two credentials (parked: PT24H; lag batch: PT30M in the catalog) and the reserved
    enrolments: ``parked_count`` of the first, then ``batch`` of the second."""
    count = parked_count + batch
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    parked = CredentialDoc.model_validate(credential_doc(f"bench-parked-{uuid.uuid4().hex[:6]}"))
    short = CredentialDoc.model_validate(
        credential_doc(f"bench-short-{uuid.uuid4().hex[:6]}", payment_window="PT30M")
    )
    with transaction(sessions) as session:
        catalog.publish(session, doc=parked)
        catalog.publish(session, doc=short)
    engine.dispose()
    now = datetime.now(UTC)
    pairs = [(uuid.uuid4().hex, f"member-{i:06d}") for i in range(count)]
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY member (id, email, name, created_at) FROM STDIN") as copy:
            for _, m in pairs:
                copy.write_row((m, f"{m}@example.org", m, now))
        columns = "id, member_id, credential_id, status, attempt, review_overdue, seq, row_version"
        columns += ", created_at, updated_at"
        with cur.copy(f"COPY enrolment ({columns}) FROM STDIN") as copy:
            for n, (eid, m) in enumerate(pairs):
                credential = parked.id if n < parked_count else short.id
                copy.write_row((eid, m, credential, "awaiting_payment", 1, False, 0, 0, now, now))
        conn.commit()
    return catalog.outline(parked), catalog.outline(short), pairs


async def _start_all(
    workflows: WorkflowClient,
    pairs: list[tuple[str, str]],
    outline: CredentialOutline,
    concurrency: int,
    window_until: datetime | None = None,
) -> float:
    """Start the enrolments' workflows (each answers once its checkout is open); the seconds taken.

    With ``window_until``, each gets the payment window that makes its checkout expire then.
    """
    gate = asyncio.Semaphore(concurrency)

    async def start(enrolment_id: str, member_id: str) -> None:
        async with gate:
            credential = outline
            if window_until is not None:
                left = max(1.0, (window_until - datetime.now(UTC)).total_seconds())
                policies = outline.policies.model_copy(update={"payment_window": f"PT{left:.3f}S"})
                credential = outline.model_copy(update={"policies": policies})
            await workflows.start(
                enrolment_id=enrolment_id,
                member_id=member_id,
                credential=credential,
                summary=f"bench {member_id}",
            )

    began = time.perf_counter()
    await asyncio.gather(*(start(e, m) for e, m in pairs))
    return time.perf_counter() - began


def _batch_state(url: str, ids: list[str]) -> tuple[int, list[tuple[datetime, datetime]]]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT e.status, e.updated_at, p.expires_at FROM enrolment e"
            " JOIN payment p ON p.enrolment_id = e.id WHERE e.id = ANY(%s)",
            (ids,),
        ).fetchall()
    done = [(updated, expires) for status, updated, expires in rows if status == "cancelled"]
    return len(done), done


async def _lag(url: str, ids: list[str], due: datetime) -> dict[str, Any]:
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    deadline = time.perf_counter() + LAG_TIMEOUT
    while True:
        done, pairs = await asyncio.to_thread(_batch_state, url, ids)
        if done == len(ids) or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.2)
    lags = [(updated - expires).total_seconds() for updated, expires in pairs]
    expiries = [expires for _, expires in pairs]
    return {
        "batch": len(ids),
        "cancelled_in_time": done,
        "expiry_spread_ms": round((max(expiries) - min(expiries)).total_seconds() * 1000, 1)
        if expiries
        else None,
        "lag_ms": latency_ms(lags),
        "all_cancelled_after_ms": round(max(lags) * 1000, 1) if lags else None,
    }


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        async with temporal_server(workdir) as temporal, database("postgres", workdir) as url:
            parked, short, pairs = await asyncio.to_thread(
                _prepare, url, chosen.checkpoints[-1], chosen.batch
            )
            settings = bench_settings(
                workdir=workdir,
                database_url=url,
                temporal=temporal,
                max_cached_workflows=chosen.max_cached_workflows,
            )
            workflows = WorkflowClient(temporal.client, task_queue=settings.task_queue)
            async with service("worker", settings, temporal, workdir) as worker:
                curve = [{"open_enrolments": 0, **worker.memory()}]
                started = 0
                total_seconds = 0.0
                cpu = CpuMeter({"worker": worker.pid, "temporal_server": temporal.pid, "driver": os.getpid()})
                cpu.start()
                for checkpoint in chosen.checkpoints:
                    seconds = await _start_all(
                        workflows, pairs[started:checkpoint], parked, chosen.start_concurrency
                    )
                    rate = (checkpoint - started) / seconds
                    total_seconds += seconds
                    started = checkpoint
                    await asyncio.sleep(SETTLE_SECONDS)
                    curve.append(
                        {"open_enrolments": checkpoint, "starts_per_s": round(rate, 1), **worker.memory()}
                    )
                start_rate = started / total_seconds
                cpu_ms_per_start = cpu.per(started)
                batch = pairs[started:]
                # Every checkout of the batch expires at ``due``: once all of it has started, plus a
                # margin. Few starts in flight, so each workflow opens its checkout soon after its
                # window was computed (it counts the window from its own clock): expiries bunch up.
                lead = len(batch) / start_rate * BATCH_LEAD_FACTOR + 5
                due = datetime.now(UTC) + timedelta(seconds=lead)
                batch_seconds = await _start_all(
                    workflows, batch, short, BATCH_START_CONCURRENCY, window_until=due
                )
                lag = await _lag(url, [e for e, _ in batch], due)
                lag["batch_started_in_s"] = round(batch_seconds, 2)
                lag["seconds_to_spare_before_due"] = round(lead - batch_seconds, 2)
                after = _memory_after(worker, started + len(batch))
    return {
        "description": "open enrolments parked on their payment-window timers: worker RSS (own process), "
        "start rate (workflow started and checkout open, as POST /enrolments waits for), and the lag from a "
        "timer's due time to the read model's status change when a batch of checkouts expires together",
        "database": "postgres",
        "max_cached_workflows": chosen.max_cached_workflows,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "start_concurrency": chosen.start_concurrency,
        "lag_batch_start_concurrency": BATCH_START_CONCURRENCY,
        "start_rate_per_s": round(start_rate, 1),
        "cpu_ms_per_start": cpu_ms_per_start,
        "worker_memory_curve": [*curve, after],
        "timer_lag": lag,
    }


def _memory_after(worker: Service, open_enrolments: int) -> dict[str, Any]:
    return {"open_enrolments": open_enrolments, "after": "lag batch expired", **worker.memory()}
