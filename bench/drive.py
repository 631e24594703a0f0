"""Drive the product through its HTTP API as members and evaluators do (shared by benchmarks).

Waiting is done as a front end would: the payment is a webhook (a signal), so the member's page
polls My Learning until the work is open; the evaluator's page polls the review until it is theirs
(the submit's answer means it is: the submission is stored with its assignment).
Polls back off (50 ms, then 1.5 times longer each time, at most 500 ms), and every poll is
counted, so its share of the load is visible in the results.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stack import auth
from microcred.identity import Role

API = "/api/v1"
POLL_FIRST = 0.05  # a front end's polling: soon at first, then backing off
POLL_BACKOFF = 1.5
POLL_MAX = 0.5
POLL_LIMIT = 400  # over three minutes of polling, then the benchmark fails loudly


def _pauses() -> Iterator[float]:
    pause = POLL_FIRST
    for _ in range(POLL_LIMIT):
        yield pause
        pause = min(POLL_MAX, pause * POLL_BACKOFF)


TASKS = {"plan": ["plan-1", "plan-2"], "reflect": ["reflect-1"]}


def credential_doc(credential_id: str, **policies: Any) -> dict[str, Any]:
    """A two-section credential with three required tasks and a community."""
    return {
        "id": credential_id,
        "title": "Inquiry in practice",
        "summary": "Plan and reflect on an inquiry unit.",
        "price": {"amount": 9900, "currency": "usd"},
        "resubmission_price": {"amount": 2900, "currency": "usd"},
        "community": {"id": "inquiry-practitioners", "name": "Inquiry practitioners"},
        "sections": [
            {
                "id": "plan",
                "title": "Plan",
                "guidance": "Describe the unit you will teach.",
                "resources": [{"title": "Guide", "url": "https://example.org/guide"}],
                "tasks": [
                    {"id": "plan-1", "prompt": "Describe the unit.", "required": True},
                    {"id": "plan-2", "prompt": "How will you assess it?", "required": True},
                ],
                "rubric": [
                    {"id": "plan-c", "title": "Coherent plan", "description": "The plan hangs together."}
                ],
            },
            {
                "id": "reflect",
                "title": "Reflect",
                "guidance": "Reflect on what happened.",
                "resources": [],
                "tasks": [{"id": "reflect-1", "prompt": "What did you learn?", "required": True}],
                "rubric": [
                    {"id": "reflect-c", "title": "Honest reflection", "description": "Evidence-based."}
                ],
            },
        ],
        **policies,
    }


class UnexpectedResponse(RuntimeError):
    pass


def session(base_url: str, *, connections: int) -> aiohttp.ClientSession:
    """The load driver's HTTP client: aiohttp, which spends a fraction of httpx's CPU per
    request (the driver shares the machine's cores with what it measures)."""
    return aiohttp.ClientSession(
        base_url=base_url,
        timeout=aiohttp.ClientTimeout(total=120),
        # Idle connections are dropped before uvicorn's own 5 s keep-alive ends them, which a
        # request sent at that moment would meet as "server disconnected".
        connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=2),
    )


@dataclass
class Api:
    """An HTTP client of the API with the benchmark's tokens, counting requests and polls."""

    http: aiohttp.ClientSession
    requests: int = 0
    polls: int = 0
    _headers: dict[tuple[str, Role], dict[str, str]] = field(default_factory=dict)

    def headers(self, sub: str, role: Role) -> dict[str, str]:
        if (sub, role) not in self._headers:
            self._headers[(sub, role)] = auth(sub, role)
        return self._headers[(sub, role)]

    async def call(self, method: str, path: str, sub: str, role: Role, expect: int = 200, **kw: Any) -> Any:
        self.requests += 1
        async with self.http.request(method, API + path, headers=self.headers(sub, role), **kw) as response:
            body = await response.read()
        if response.status != expect:
            raise UnexpectedResponse(f"{method} {path} -> {response.status}: {body[:500]!r}")
        return json.loads(body) if body else None

    async def setup(self, credential_id: str, evaluator: str, **policies: Any) -> None:
        """Publish the credential and register its evaluator, as an admin does."""
        await self.call(
            "POST",
            "/credentials",
            "bench-admin",
            Role.ADMIN,
            201,
            json=credential_doc(credential_id, **policies),
        )
        body = {
            "name": "Bench Evaluator",
            "email": f"{evaluator}@example.org",
            "credential_ids": [credential_id],
        }
        await self.call("PUT", f"/evaluators/{evaluator}", "bench-admin", Role.ADMIN, json=body)

    # --- the member ---------------------------------------------------------------------------

    async def enrol(self, member: str, credential_id: str) -> dict[str, Any]:
        created: dict[str, Any] = await self.call(
            "POST", "/enrolments", member, Role.MEMBER, 201, json={"credential_id": credential_id}
        )
        return created

    async def pay(self, checkout_session_id: str) -> None:
        """The offline checkout's Pay button (a signed checkout.session.completed webhook)."""
        self.requests += 1
        async with self.http.post(
            f"{API}/checkout/{checkout_session_id}/pay", allow_redirects=False
        ) as response:
            body = await response.read()
        if response.status != 303:
            raise UnexpectedResponse(f"pay {checkout_session_id} -> {response.status}: {body[:500]!r}")

    async def until_status(self, member: str, enrolment_id: str, status: str) -> None:
        """Poll My Learning until the enrolment shows ``status``."""
        for pause in _pauses():
            self.polls += 1
            items = (await self.call("GET", "/me/learning", member, Role.MEMBER))["items"]
            if any(i["enrolment_id"] == enrolment_id and i["status"] == status for i in items):
                return
            await asyncio.sleep(pause)
        raise UnexpectedResponse(f"{enrolment_id} never became {status}")

    async def save(self, member: str, enrolment_id: str, task_id: str, text: str) -> dict[str, Any]:
        saved: dict[str, Any] = await self.call(
            "PUT", f"/enrolments/{enrolment_id}/tasks/{task_id}", member, Role.MEMBER, json={"response": text}
        )
        return saved

    async def submit(self, member: str, enrolment_id: str) -> None:
        await self.call(
            "POST", f"/enrolments/{enrolment_id}/submit", member, Role.MEMBER, json={"agree_terms": True}
        )

    # --- the evaluator ------------------------------------------------------------------------

    async def assigned_review(self, evaluator: str, enrolment_id: str) -> dict[str, Any]:
        """Poll the review until it is assigned to ``evaluator``; return it."""
        for pause in _pauses():
            self.polls += 1
            self.requests += 1
            async with self.http.get(
                f"{API}/reviews/{enrolment_id}", headers=self.headers(evaluator, Role.EVALUATOR)
            ) as response:
                body = await response.read()
            if response.status == 200:
                review: dict[str, Any] = json.loads(body)
                return review
            if response.status != 404:
                raise UnexpectedResponse(f"GET review {enrolment_id} -> {response.status}: {body[:500]!r}")
            await asyncio.sleep(pause)
        raise UnexpectedResponse(f"{enrolment_id} was never assigned to {evaluator}")

    async def decide(
        self, evaluator: str, enrolment_id: str, review: dict[str, Any], unmet: set[str]
    ) -> None:
        marks = [
            {"criterion_id": c["id"], "met": c["section_id"] not in unmet, "comment": "more evidence, please"}
            for c in review["rubric"]
        ]
        body = {"outcome": "resubmit" if unmet else "approved", "marks": marks, "feedback": "thank you"}
        await self.call("POST", f"/reviews/{enrolment_id}/decision", evaluator, Role.EVALUATOR, json=body)


class Steps:
    """Wall-clock durations of one lifecycle's steps, in seconds."""

    def __init__(self) -> None:
        self.durations: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.durations[step] = self.durations.get(step, 0.0) + now - self._last
        self._last = now


async def lifecycle(api: Api, *, credential_id: str, evaluator: str, steps: Steps | None = None) -> str:
    """One member's whole first-attempt lifecycle through HTTP; returns the enrolment id once the
    evaluator's approval has answered (the badge is issued after it, by the workflow)."""
    steps = steps or Steps()
    member = f"member-{uuid.uuid4().hex[:12]}"
    created = await api.enrol(member, credential_id)
    enrolment_id = str(created["id"])
    steps.mark("enrol")
    await api.pay(created["checkout_session_id"])
    steps.mark("pay")
    await api.until_status(member, enrolment_id, "in_progress")
    steps.mark("wait_in_progress")
    for section_tasks in TASKS.values():
        for task_id in section_tasks:
            await api.save(member, enrolment_id, task_id, f"My answer to {task_id}.")
    steps.mark("save_3_tasks")
    await api.submit(member, enrolment_id)
    steps.mark("submit")
    review = await api.assigned_review(evaluator, enrolment_id)
    steps.mark("wait_assigned")
    await api.decide(evaluator, enrolment_id, review, unmet=set())
    steps.mark("decide")
    return enrolment_id
