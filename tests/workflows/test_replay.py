"""Replay: the recorded lifecycles still replay on the current workflow code.

The histories in ``histories/`` were recorded by ``record_histories.py`` (see its docstring).
A change to the enrolment workflow that alters the commands it issues for a recorded history
makes these tests fail: such a change must be guarded with ``workflow.patched`` so enrolments
already running (for months) keep replaying.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import worker
from microcred.contracts import EnrolmentInput, EnrolmentResult, EventKind
from workflows.enrolment import (
    ALERT_REFUNDS_ELSEWHERE,
    ASSIGN_ON_SUBMIT,
    CLOSE_CHECKOUTS,
    HOLD_PROCESSING,
    REFUND_AFTER_DEADLINE,
    REMIND_EACH_EVALUATOR,
    UPSERT_CHANGES_ONLY,
    EnrolmentWorkflow,
)

HISTORIES = Path(__file__).parent / "histories"
SCENARIOS = ("expiry", "happy", "resubmission-run1", "resubmission-run2", "sla-reassigned")
# The first release's histories, then one folder per patched change (see record_histories.py).
RELEASES = (
    "",
    f"{ASSIGN_ON_SUBMIT}/",
    f"{UPSERT_CHANGES_ONLY}/",
    f"{REFUND_AFTER_DEADLINE}/",
    f"{REMIND_EACH_EVALUATOR}/",
    f"{CLOSE_CHECKOUTS}/",
    f"{HOLD_PROCESSING}/",
    f"{ALERT_REFUNDS_ELSEWHERE}/",
)
# Scenarios recorded from a later release on (the path its patch changed), by that release.
LATER = {
    "late-resubmission-payment": f"{REFUND_AFTER_DEADLINE}/",
    "checkout-expiry": f"{REMIND_EACH_EVALUATOR}/",
    "last-moment-payment": f"{CLOSE_CHECKOUTS}/",
    "wrong-amount": f"{REMIND_EACH_EVALUATOR}/",
    "cancelled-checkout": f"{REMIND_EACH_EVALUATOR}/",
    "processing-payment": f"{HOLD_PROCESSING}/",
    "processing-never-confirms": f"{HOLD_PROCESSING}/",
    "refunded-elsewhere": f"{HOLD_PROCESSING}/",  # its old path: the signal had no handler
}
RECORDED = tuple(
    release + scenario
    for number, release in enumerate(RELEASES)
    for scenario in (*SCENARIOS, *(s for s, since in LATER.items() if RELEASES.index(since) <= number))
)


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"enrolment-replay-{name}", (HISTORIES / f"{name}.json").read_text())


def test_every_recorded_lifecycle_is_there() -> None:
    found = sorted(p.relative_to(HISTORIES).with_suffix("").as_posix() for p in HISTORIES.rglob("*.json"))
    assert found == sorted(RECORDED)


@pytest.mark.parametrize("name", RECORDED)
async def test_recorded_history_replays_without_nondeterminism(name: str) -> None:
    replayer = Replayer(workflows=list(worker.WORKFLOWS), data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history(name), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure!r}"


@workflow.defn(name="EnrolmentWorkflow", sandboxed=False)
class CopiedEnrolmentWorkflow(EnrolmentWorkflow):
    """The control: the same code, defined the same way as the altered copy below."""

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        return await super().run(inp)


@workflow.defn(name="EnrolmentWorkflow", sandboxed=False)
class PausingEnrolmentWorkflow(EnrolmentWorkflow):
    """An innocent-looking, unpatched edit: pause a second before opening a checkout.

    On replay the code asks for a timer where the history holds the checkout activity.
    """

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        return await super().run(inp)

    async def _open_checkout(
        self, event: EventKind = EventKind.CHECKOUT_OPENED, actor: str | None = None
    ) -> None:
        await workflow.sleep(timedelta(seconds=1))
        await super()._open_checkout(event, actor)


@pytest.mark.parametrize("name", ["happy", "resubmission-run1"])
async def test_replay_catches_an_incompatible_change(name: str) -> None:
    control = Replayer(workflows=[CopiedEnrolmentWorkflow], data_converter=pydantic_data_converter)
    assert (await control.replay_workflow(history(name))).replay_failure is None

    replayer = Replayer(workflows=[PausingEnrolmentWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(history(name))
