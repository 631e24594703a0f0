"""Benchmark 2: My Learning and the review queue under load, against a bare endpoint.

A fresh PostgreSQL database gets a realistic population by bulk COPY (sizes below): 40
credentials (half with a community), 150 evaluators (a third registered for every credential,
the rest for 6 each), and members holding 1 + Geometric(0.3) enrolments each (mean 3.3, at
most 40), in the statuses a mature catalogue has; reviews under way are assigned to an
eligible evaluator (1% wait unassigned and claimable).

The API runs as its own process (``python -m bench.learning``, started by ``bench.stack``)
with the product's app plus two bare routes mounted by this module only (never in api/): the
same authentication and session dependencies, then one indexed query and no more
(``/bench/bare/learning``: the member's enrolment rows by ``ix_enrolment_member_created``;
``/bench/bare/reviews``: the evaluator's assigned reviews by ``ix_enrolment_review_queue``).
``concurrency`` clients (one random member or evaluator per request) run against each endpoint
in turn, in alternating rounds, so drift hits all alike.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from api.deps import EvaluatorDep, MemberDep, SessionDep
from api.main import create_app
from bench.drive import credential_doc
from bench.stack import auth, bench_settings, database, libpq_url, service
from bench.stats import latency_ms, ratio
from microcred.config import Settings
from microcred.db import create_db_engine, make_session_factory, transaction
from microcred.documents import CredentialDoc
from microcred.identity import Role
from microcred.observability import configure_logging
from microcred.services import catalog

TARGET_P95_RATIO = 2.0
CREDENTIALS = 40
EVALUATORS = 150
EVALUATOR_ALL_SHARE = 1 / 3
EVALUATOR_CREDENTIALS = 6
STATUSES = {  # share of enrolments in each status
    "approved": 0.35,
    "in_progress": 0.25,
    "under_review": 0.10,
    "expired": 0.10,
    "cancelled": 0.08,
    "awaiting_payment": 0.05,
    "resubmission_requested": 0.04,
    "awaiting_resubmission_payment": 0.03,
}
UNASSIGNED_SHARE = 0.01
OVERDUE_SHARE = 0.05


@dataclass(frozen=True)
class Size:
    enrolments: int
    concurrency: int
    seconds_per_round: float
    rounds: int


SIZES = {
    "tiny": Size(enrolments=2_000, concurrency=8, seconds_per_round=1.0, rounds=2),
    "full": Size(enrolments=100_000, concurrency=32, seconds_per_round=5.0, rounds=2),
}
SIZES["scale"] = SIZES["full"]

# --- the bare endpoints (mounted by bench.stack's ``learning-api`` only) ---------------------------

_BARE_LEARNING = sa.text(
    "SELECT id, credential_id, status, attempt, purchased_at, due_at, submitted_at, review_due_at, decision,"
    " badge_id FROM enrolment WHERE member_id = :member ORDER BY created_at DESC"
)
_BARE_REVIEWS = sa.text(
    "SELECT id, credential_id, attempt, submitted_at, review_due_at, review_overdue, evaluator_id"
    " FROM enrolment WHERE status = 'under_review' AND evaluator_id = :evaluator ORDER BY review_due_at"
)


def mount_bare_endpoint(app: FastAPI) -> None:
    """Routes with the product's auth and session, then one indexed query each."""

    @app.get("/bench/bare/learning")
    def bare_learning(session: SessionDep, member: MemberDep) -> dict[str, Any]:
        rows = session.execute(_BARE_LEARNING, {"member": member.sub}).mappings().all()
        return {"items": [dict(r) for r in rows]}

    @app.get("/bench/bare/reviews")
    def bare_reviews(session: SessionDep, evaluator: EvaluatorDep) -> dict[str, Any]:
        rows = session.execute(_BARE_REVIEWS, {"evaluator": evaluator.sub}).mappings().all()
        return {"items": [dict(r) for r in rows]}


# --- the population ------------------------------------------------------------------------------


@dataclass
class Population:
    members: list[str]
    evaluators: list[str]
    enrolments: int
    by_status: dict[str, int]
    max_per_member: int
    mean_per_member: float
    largest_review_queue: int


def _publish_catalog(url: str) -> tuple[list[str], dict[str, str | None]]:
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    communities: dict[str, str | None] = {}
    ids = [f"cred-{i:02d}" for i in range(CREDENTIALS)]
    with transaction(sessions) as session:
        for i, cid in enumerate(ids):
            doc = credential_doc(cid)
            doc["title"] = f"Micro-credential {i}"
            if i % 2:
                doc["community"] = None
            else:
                doc["community"] = {"id": f"community-{i % 10}", "name": f"Community {i % 10}"}
            catalog.publish(session, doc=CredentialDoc.model_validate(doc))
            communities[cid] = doc["community"]["id"] if doc["community"] else None
    engine.dispose()
    return ids, communities


def _populate(url: str, size: Size, seed: int = 7) -> Population:
    rng = random.Random(seed)
    credentials, communities = _publish_catalog(url)
    now = datetime.now(UTC)
    evaluators = [f"evaluator-{i:03d}" for i in range(EVALUATORS)]
    registered: dict[str, list[str]] = {}
    eligible: dict[str, list[str]] = {c: [] for c in credentials}
    for i, e in enumerate(evaluators):
        chosen = (
            credentials
            if i < EVALUATORS * EVALUATOR_ALL_SHARE
            else rng.sample(credentials, EVALUATOR_CREDENTIALS)
        )
        registered[e] = [] if chosen is credentials else chosen
        for c in chosen:
            eligible[c].append(e)
    statuses, weights = list(STATUSES), list(STATUSES.values())

    members: list[str] = []
    enrolments: list[tuple[Any, ...]] = []
    memberships: dict[tuple[str, str], str] = {}
    while len(enrolments) < size.enrolments:
        member = f"member-{len(members):06d}"
        members.append(member)
        count = 1
        while rng.random() > 0.3 and count < CREDENTIALS:
            count += 1
        count = min(count, size.enrolments - len(enrolments))
        for credential in rng.sample(credentials, count):
            status = rng.choices(statuses, weights)[0]
            row = _enrolment(rng, now, member, credential, status, eligible[credential])
            enrolments.append(row)
            community = communities[credential]
            if community and status not in ("awaiting_payment", "cancelled"):
                memberships.setdefault((member, community), row[0])

    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY member (id, email, name, created_at) FROM STDIN") as copy:
            for m in members:
                copy.write_row((m, f"{m}@example.org", m, now - timedelta(days=800)))
        with cur.copy("COPY evaluator (id, name, email, all_credentials, updated_at) FROM STDIN") as copy:
            for e in evaluators:
                copy.write_row((e, e, f"{e}@example.org", not registered[e], now))
        with cur.copy("COPY evaluator_credential (evaluator_id, credential_id) FROM STDIN") as copy:
            for e, cids in registered.items():
                for c in cids:
                    copy.write_row((e, c))
        with cur.copy(f"COPY enrolment ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in enrolments:
                copy.write_row(row)
        with cur.copy(
            "COPY community_membership (member_id, community_id, enrolment_id, granted_at) FROM STDIN"
        ) as copy:
            for (m, c), eid in memberships.items():
                copy.write_row((m, c, eid, now))
        conn.commit()
        conn.autocommit = True
        cur.execute("ANALYZE")
        cur.execute(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM enrolment"
            " WHERE status = 'under_review' GROUP BY evaluator_id) q"
        )
        largest = cur.fetchone()
    per_member: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for row in enrolments:
        per_member[row[1]] = per_member.get(row[1], 0) + 1
        by_status[row[3]] = by_status.get(row[3], 0) + 1
    return Population(
        members=members,
        evaluators=evaluators,
        enrolments=len(enrolments),
        by_status=dict(sorted(by_status.items())),
        max_per_member=max(per_member.values()),
        mean_per_member=round(len(enrolments) / len(members), 2),
        largest_review_queue=int(largest[0]) if largest else 0,
    )


_COLUMNS = (
    "id", "member_id", "credential_id", "status", "attempt", "purchased_at", "due_at", "submitted_at",
    "review_due_at", "decision", "evaluator_id", "review_overdue", "checkout_session_id", "checkout_url",
    "badge_id", "seq", "row_version", "created_at", "updated_at",
)  # fmt: skip


def _enrolment(
    rng: random.Random, now: datetime, member: str, credential: str, status: str, eligible: Sequence[str]
) -> tuple[Any, ...]:
    """One enrolment row in ``status``, with the dates and people that status implies."""
    eid = uuid.uuid4().hex
    created = now - timedelta(minutes=rng.randint(10, 2 * 365 * 24 * 60))
    paid = status not in ("awaiting_payment", "cancelled")
    purchased = created + timedelta(minutes=rng.randint(1, 600)) if paid else None
    due = purchased + timedelta(days=304) if purchased else None
    reviewed = status in (
        "under_review",
        "approved",
        "resubmission_requested",
        "awaiting_resubmission_payment",
    )
    submitted = purchased + timedelta(days=rng.randint(5, 250)) if reviewed and purchased else None
    review_due = submitted + timedelta(days=14) if submitted else None
    evaluator = rng.choice(eligible) if reviewed else None
    if status == "under_review" and rng.random() < UNASSIGNED_SHARE:
        evaluator = None
    decision = {
        "approved": "approved",
        "resubmission_requested": "resubmit",
        "awaiting_resubmission_payment": "resubmit",
    }
    attempt = 2 if status == "awaiting_resubmission_payment" or (reviewed and rng.random() < 0.15) else 1
    checkout = (
        f"cs_offline_{eid[:24]}" if status in ("awaiting_payment", "awaiting_resubmission_payment") else None
    )
    return (
        eid, member, credential, status, attempt, purchased, due, submitted, review_due,
        decision.get(status), evaluator, status == "under_review" and rng.random() < OVERDUE_SHARE,
        checkout, f"http://127.0.0.1/api/v1/checkout/{checkout}" if checkout else None,
        eid[:32] if status == "approved" else None, 6, 6, created, now,
    )  # fmt: skip


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    path: str
    role: Role
    durations: list[float]
    errors: int = 0
    seconds: float = 0.0
    items: int = 0


async def _load(
    http: httpx.AsyncClient, endpoint: Endpoint, headers: list[dict[str, str]], size: Size
) -> None:
    """``size.concurrency`` clients request ``endpoint`` for ``size.seconds_per_round`` seconds."""
    rng = random.Random(endpoint.name + str(len(endpoint.durations)))
    began = time.perf_counter()
    until = began + size.seconds_per_round

    async def client() -> None:
        while time.perf_counter() < until:
            start = time.perf_counter()
            try:
                response = await http.get(endpoint.path, headers=rng.choice(headers))
            except httpx.TransportError:
                # A dropped connection under load is an error of the run, reported in the JSON.
                endpoint.errors += 1
                continue
            endpoint.durations.append(time.perf_counter() - start)
            if response.status_code != 200:
                endpoint.errors += 1
            else:
                endpoint.items += len(response.json()["items"])

    await asyncio.gather(*(client() for _ in range(size.concurrency)))
    endpoint.seconds += time.perf_counter() - began


def _result(endpoint: Endpoint) -> dict[str, Any]:
    count = len(endpoint.durations)
    return {
        "path": endpoint.path,
        "requests": count,
        "errors": endpoint.errors,
        "requests_per_s": round(count / endpoint.seconds, 1) if endpoint.seconds else 0.0,
        "mean_items": round(endpoint.items / max(1, count - endpoint.errors), 1),
        "latency_ms": latency_ms(endpoint.durations),
    }


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        async with database("postgres", workdir) as url:
            began = time.perf_counter()
            population = await asyncio.to_thread(_populate, url, chosen)
            populate_seconds = time.perf_counter() - began
            settings = bench_settings(workdir=workdir, database_url=url, temporal=None)
            rng = random.Random(11)
            members = rng.sample(population.members, min(3000, len(population.members)))
            member_headers = [auth(m, Role.MEMBER) for m in members]
            evaluator_headers = [auth(e, Role.EVALUATOR) for e in population.evaluators]
            endpoints = [
                Endpoint("bare_learning", "/bench/bare/learning", Role.MEMBER, []),
                Endpoint("my_learning", "/api/v1/me/learning", Role.MEMBER, []),
                Endpoint("bare_reviews", "/bench/bare/reviews", Role.EVALUATOR, []),
                Endpoint("reviews", "/api/v1/reviews", Role.EVALUATOR, []),
            ]
            limits = httpx.Limits(
                max_connections=chosen.concurrency, max_keepalive_connections=chosen.concurrency
            )
            async with (
                service("learning-api", settings, None, workdir) as api,
                httpx.AsyncClient(base_url=settings.public_base_url, timeout=60, limits=limits) as http,
            ):
                for endpoint in endpoints:  # warm up: connections, plans, caches
                    headers = member_headers if endpoint.role is Role.MEMBER else evaluator_headers
                    for h in headers[: chosen.concurrency]:
                        await http.get(endpoint.path, headers=h)
                for n in range(chosen.rounds):
                    for endpoint in endpoints if n % 2 == 0 else reversed(endpoints):
                        headers = member_headers if endpoint.role is Role.MEMBER else evaluator_headers
                        await _load(http, endpoint, headers, chosen)
                memory = api.memory()
    results = {e.name: _result(e) for e in endpoints}
    p95 = {name: r["latency_ms"].get("p95", 0.0) for name, r in results.items()}
    return {
        "description": "GET /me/learning and GET /reviews vs bare one-query endpoints (same app, auth and "
        f"session), PostgreSQL, {chosen.concurrency} concurrent clients",
        "population": {
            "enrolments": population.enrolments,
            "members": len(population.members),
            "evaluators": len(population.evaluators),
            "credentials": CREDENTIALS,
            "mean_enrolments_per_member": population.mean_per_member,
            "max_enrolments_per_member": population.max_per_member,
            "largest_review_queue": population.largest_review_queue,
            "by_status": population.by_status,
            "bulk_load_seconds": round(populate_seconds, 1),
        },
        "concurrency": chosen.concurrency,
        "seconds_per_endpoint": chosen.seconds_per_round * chosen.rounds,
        "endpoints": results,
        "ratio_p95_my_learning_to_bare": ratio(p95["my_learning"], p95["bare_learning"], 2),
        "ratio_p95_reviews_to_bare": ratio(p95["reviews"], p95["bare_reviews"], 2),
        "ratio_rps_my_learning_to_bare": ratio(
            results["my_learning"]["requests_per_s"], results["bare_learning"]["requests_per_s"], 2
        ),
        "ratio_rps_reviews_to_bare": ratio(
            results["reviews"]["requests_per_s"], results["bare_reviews"]["requests_per_s"], 2
        ),
        "target_p95_ratio": TARGET_P95_RATIO,
        "api_process_memory": memory,
    }


def serve(settings: Settings) -> None:
    """The product API plus the bare endpoints, served as ``microcred api`` serves the product."""
    app = create_app(settings)
    mount_bare_endpoint(app)
    port = urlsplit(settings.public_base_url).port or 8000
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    configure_logging(settings := Settings())
    serve(settings)
