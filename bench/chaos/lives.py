"""Lifecycles driven through HTTP while the processes behind the API die: every call is retried
until it answers, and an answer that says "already done" is read as the earlier try's success.

Each lifecycle follows a ``Plan``: approved at the first attempt, approved after one
resubmission, or cancelled by an admin with a refund after the work started. On some, nobody
may evaluate the credential when the work is submitted: an evaluator is registered afterwards
and claims the review.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from bench.drive import TASKS, credential_doc
from bench.stack import auth
from microcred.identity import Role

API = "/api/v1"
RETRYABLE = {429, 500, 502, 503, 504}  # the API, Temporal or the database is down for a moment
PAUSE = 0.3
STEP_TIMEOUT = 600.0  # one step may wait out activity timeouts after several kills
EVALUATOR = "chaos-evaluator"
ADMIN = "chaos-admin"
CLAIMED_SHARE = 0.25


class Plan(StrEnum):
    APPROVE = "approve"
    RESUBMIT = "resubmit"  # one resubmission of the reflect section, then approved
    CANCEL = "cancel"  # paid, work saved, then cancelled by an admin with a refund


@dataclass(frozen=True)
class Life:
    index: int
    plan: Plan
    claimed: bool  # its review waits unassigned until an evaluator registers and claims it
    member: str
    credential_id: str

    @property
    def evaluator(self) -> str:
        return f"chaos-claimer-{self.index}" if self.claimed else EVALUATOR


def plans(count: int, *, run: str, seed: int) -> list[Life]:
    """``count`` lifecycles: of every ten, 5 approved at once, 3 with a resubmission, 2
    cancelled, and a quarter of the reviewed ones claimed (a run of fewer than ten has one of
    each plan in turn and claims the last review)."""
    rng = random.Random(seed)
    shape = [Plan.APPROVE] * 5 + [Plan.RESUBMIT] * 3 + [Plan.CANCEL] * 2
    small = count < len(shape)
    lives = []
    for i in range(count):
        plan = [Plan.RESUBMIT, Plan.CANCEL, Plan.APPROVE][i % 3] if small else shape[i % len(shape)]
        reviewed = plan is not Plan.CANCEL
        claimed = reviewed and (i == count - 1 if small else rng.random() < CLAIMED_SHARE)
        credential = f"chaos-{run}-claim-{i}" if claimed else f"chaos-{run}"
        lives.append(Life(i, plan, claimed, f"chaos-member-{run}-{i}", credential))
    rng.shuffle(lives)
    return lives


class Unexpected(RuntimeError):
    pass


@dataclass
class Driver:
    """The HTTP client of every lifecycle, counting what the outages cost."""

    http: httpx.AsyncClient
    retried: Counter[str] = field(default_factory=Counter)  # "transport", "503", ...

    async def call(
        self, method: str, path: str, who: tuple[str, Role] | None, expect: set[int], **kw: Any
    ) -> httpx.Response:
        """Send until an answer in ``expect`` (anything else not retryable fails the lifecycle)."""
        headers = auth(*who) if who else {}
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while True:
            try:
                response = await self.http.request(method, path, headers=headers, **kw)
            except httpx.TransportError:
                self.retried["transport"] += 1
            else:
                if response.status_code in expect:
                    return response
                if response.status_code not in RETRYABLE:
                    raise Unexpected(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
                self.retried[str(response.status_code)] += 1
            if asyncio.get_running_loop().time() > deadline:
                raise Unexpected(f"{method} {path}: no answer in {STEP_TIMEOUT:.0f} s")
            await asyncio.sleep(PAUSE)

    async def until(self, life: Life, enrolment_id: str, wanted: set[str]) -> dict[str, Any]:
        """Poll the enrolment until its status is one of ``wanted``."""
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while True:
            got = await self.enrolment(life, enrolment_id)
            if got["status"] in wanted:
                return got
            if asyncio.get_running_loop().time() > deadline:
                raise Unexpected(f"{enrolment_id} stayed {got['status']}, never {sorted(wanted)}")
            await asyncio.sleep(PAUSE)

    async def badged(self, life: Life, enrolment_id: str) -> None:
        """Poll until the approved enrolment shows its badge (issued after the approval)."""
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while not (await self.enrolment(life, enrolment_id)).get("badge_url"):
            if asyncio.get_running_loop().time() > deadline:
                raise Unexpected(f"{enrolment_id} was approved, but its badge never came")
            await asyncio.sleep(PAUSE)

    async def enrolment(self, life: Life, enrolment_id: str) -> dict[str, Any]:
        got: dict[str, Any] = (
            await self.call("GET", f"{API}/enrolments/{enrolment_id}", (life.member, Role.MEMBER), {200})
        ).json()
        return got

    # --- setup, as an admin ---------------------------------------------------------------------

    async def publish(self, credential_id: str) -> None:
        doc = credential_doc(credential_id)
        await self.call("POST", f"{API}/credentials", (ADMIN, Role.ADMIN), {201, 409}, json=doc)

    async def register(self, evaluator: str, credential_id: str) -> None:
        body = {"name": evaluator, "email": f"{evaluator}@example.org", "credential_ids": [credential_id]}
        await self.call("PUT", f"{API}/evaluators/{evaluator}", (ADMIN, Role.ADMIN), {200}, json=body)

    # --- one lifecycle --------------------------------------------------------------------------

    async def live(self, life: Life) -> str:
        """Drive ``life`` to its end; returns its enrolment id."""
        member = (life.member, Role.MEMBER)
        created = await self.call(
            "POST", f"{API}/enrolments", member, {201, 409}, json={"credential_id": life.credential_id}
        )
        body = created.json()
        # 409: an earlier try, cut off by a kill, had started the purchase.
        enrolment_id = str(body["id"] if created.status_code == 201 else body["detail"]["enrolment_id"])
        await self.pay(life, enrolment_id)
        await self.save(life, enrolment_id, [t for tasks in TASKS.values() for t in tasks])
        if life.plan is Plan.CANCEL:
            await self.call(
                "POST",
                f"{API}/admin/enrolments/{enrolment_id}/cancellation",
                (ADMIN, Role.ADMIN),
                {200, 409},
                json={"refund": True, "reason": "chaos drill"},
            )
            await self.until(life, enrolment_id, {"cancelled"})
            return enrolment_id
        await self.submit_and_decide(
            life, enrolment_id, unmet={"reflect"} if life.plan is Plan.RESUBMIT else set()
        )
        if life.plan is Plan.RESUBMIT:
            await self.until(life, enrolment_id, {"resubmission_requested"})
            await self.call("POST", f"{API}/enrolments/{enrolment_id}/resubmission", member, {200, 201})
            await self.pay(life, enrolment_id)
            await self.save(life, enrolment_id, TASKS["reflect"])
            await self.submit_and_decide(life, enrolment_id, unmet=set())
        await self.until(life, enrolment_id, {"approved"})
        await self.badged(life, enrolment_id)
        return enrolment_id

    async def pay(self, life: Life, enrolment_id: str) -> None:
        """The offline checkout's Pay button, then wait for the work to open."""
        state = await self.until(life, enrolment_id, {"awaiting_payment", "awaiting_resubmission_payment"})
        session_id = state.get("checkout_session_id")
        while not session_id:  # the checkout is being opened
            await asyncio.sleep(PAUSE)
            session_id = (await self.enrolment(life, enrolment_id)).get("checkout_session_id")
        # 409: already paid by an earlier try.
        await self.call("POST", f"{API}/checkout/{session_id}/pay", None, {303, 409})
        await self.until(life, enrolment_id, {"in_progress"})

    async def save(self, life: Life, enrolment_id: str, task_ids: list[str]) -> None:
        for task_id in task_ids:
            await self.call(
                "PUT",
                f"{API}/enrolments/{enrolment_id}/tasks/{task_id}",
                (life.member, Role.MEMBER),
                {200},
                json={"response": f"{life.member} answers {task_id}."},
            )

    async def submit_and_decide(self, life: Life, enrolment_id: str, *, unmet: set[str]) -> None:
        await self.call(
            "POST",
            f"{API}/enrolments/{enrolment_id}/submit",
            (life.member, Role.MEMBER),
            {200, 409},  # 409: submitted by an earlier try
            json={"agree_terms": True},
        )
        await self.until(life, enrolment_id, {"under_review"})
        evaluator = (life.evaluator, Role.EVALUATOR)
        if life.claimed:
            await self.register(life.evaluator, life.credential_id)
            # 409: already theirs (an earlier try, or assigned when they registered).
            await self.call("POST", f"{API}/reviews/{enrolment_id}/claim", evaluator, {200, 409})
        review = await self.assigned(life, enrolment_id)
        marks = [
            {"criterion_id": c["id"], "met": c["section_id"] not in unmet, "comment": "more evidence, please"}
            for c in review["rubric"]
        ]
        body = {"outcome": "resubmit" if unmet else "approved", "marks": marks, "feedback": "thank you"}
        # 409: decided by an earlier try.
        await self.call("POST", f"{API}/reviews/{enrolment_id}/decision", evaluator, {200, 409}, json=body)

    async def assigned(self, life: Life, enrolment_id: str) -> dict[str, Any]:
        """The review, once it is the evaluator's."""
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while True:
            got = await self.call(
                "GET", f"{API}/reviews/{enrolment_id}", (life.evaluator, Role.EVALUATOR), {200, 404}
            )
            if got.status_code == 200:
                review: dict[str, Any] = got.json()
                return review
            if asyncio.get_running_loop().time() > deadline:
                raise Unexpected(f"the review of {enrolment_id} never reached {life.evaluator}")
            await asyncio.sleep(PAUSE)
