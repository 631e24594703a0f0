"""The bare-engine baseline of the lifecycle benchmark: a minimal workflow on the same dev server.

``BareLifecycle`` receives the same messages as an enrolment does in one lifecycle (an update
that waits for the checkout, the payment signal, the submit and decide updates) and runs, as
no-op activities, as many activities at each stage as the real workflow's history shows at
that stage (see ``bench.lifecycle.plan_from_history``). Its worker has the product worker's
cache and concurrency settings. What remains is Temporal itself: its round trips, workflow
tasks and activity tasks, with no database, no HTTP API and no business logic.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():  # as the product's workflow module does
    from temporalio.worker import Worker

    from microcred.config import Settings
    from microcred.sandbox import workflow_runner
    from microcred.temporal.client import connect

NOOP_TIMEOUT = timedelta(seconds=30)
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


class BarePlan(BaseModel):
    """How many activities the real workflow runs at each stage of one lifecycle."""

    after_start: int  # until the checkout is open (the checkout update waits for them)
    after_payment: int  # after the payment signal, until the work can start
    in_submit: int  # inside the submit update, before it answers
    after_submit: int  # after the submission, until the review can be decided (assignment)
    in_decide: int  # inside the decide update, before it answers
    after_decide: int  # after the decision, until the workflow completes (badge)

    @property
    def activities(self) -> int:
        return (
            self.after_start
            + self.after_payment
            + self.in_submit
            + self.after_submit
            + self.in_decide
            + self.after_decide
        )


@activity.defn(name="bench.noop")
async def noop() -> None:
    """Does nothing: the baseline measures the engine, not the work."""


@workflow.defn(name="BareLifecycle")
class BareLifecycle:
    @workflow.init
    def __init__(self, plan: BarePlan) -> None:
        self._plan = plan
        self._checkout_open = False
        self._paid = False
        self._working = False
        self._submitted = False
        self._in_review = False
        self._decided = False

    async def _noops(self, count: int) -> None:
        for _ in range(count):
            await workflow.execute_activity(noop, start_to_close_timeout=NOOP_TIMEOUT)

    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        await self._noops(plan.after_start)
        self._checkout_open = True
        await workflow.wait_condition(lambda: self._paid)
        await self._noops(plan.after_payment)
        self._working = True
        await workflow.wait_condition(lambda: self._submitted)
        await self._noops(plan.after_submit)
        self._in_review = True
        await workflow.wait_condition(lambda: self._decided)
        await self._noops(plan.after_decide)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return plan.activities

    @workflow.update
    async def checkout(self) -> None:
        await workflow.wait_condition(lambda: self._checkout_open)

    @workflow.signal
    def paid(self) -> None:
        self._paid = True

    @workflow.update
    async def submit(self) -> None:
        await workflow.wait_condition(lambda: self._working)
        await self._noops(self._plan.in_submit)
        self._submitted = True

    @workflow.update
    async def decide(self) -> None:
        await workflow.wait_condition(lambda: self._in_review)
        await self._noops(self._plan.in_decide)
        self._decided = True


async def run_worker(settings: Settings, *, stop: asyncio.Event) -> None:
    """The baseline's worker, with the product worker's cache and concurrency settings."""
    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BareLifecycle],
        activities=[noop],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=workflow_runner(),  # the product's sandbox runner, so only the workflows differ
    )
    async with worker:
        await stop.wait()
