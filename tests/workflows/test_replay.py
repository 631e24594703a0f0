"""Replay: every recorded history still replays on the current workflow code.

The histories in ``histories/<folder>/`` were recorded by ``record_histories.py``: ``baseline``
those of the first release, one more folder for each patched change since. A change to the
enrolment workflow that alters the commands it issues for a recorded history fails these
tests: enrolments run for months, so such a change goes behind ``workflow.patched`` (the
procedure is in docs/workflow-versioning.md).
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
from microcred.contracts import EnrolmentInput, EnrolmentResult
from microcred.temporal.names import ENROLMENT_WORKFLOW
from tests.workflows.record_histories import SCENARIOS
from workflows.enrolment import EnrolmentWorkflow

HISTORIES = Path(__file__).parent / "histories"
BASELINE = HISTORIES / "baseline"
RECORDED = sorted(p.relative_to(HISTORIES).with_suffix("").as_posix() for p in HISTORIES.rglob("*.json"))


def history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"enrolment-replay-{name}", (HISTORIES / f"{name}.json").read_text())


def scenarios_in(folder: Path) -> set[str]:
    return {p.stem.removesuffix("-run1").removesuffix("-run2") for p in folder.glob("*.json")}


def test_the_baseline_holds_every_scenario_but_those_added_with_a_patch() -> None:
    patches = [folder for folder in HISTORIES.iterdir() if folder.is_dir() and folder != BASELINE]
    added = set().union(*(scenarios_in(folder) for folder in patches)) - scenarios_in(BASELINE)
    assert scenarios_in(BASELINE) | added == set(SCENARIOS)
    assert scenarios_in(BASELINE) == set(SCENARIOS) - added


@pytest.mark.parametrize("name", RECORDED)
async def test_recorded_history_replays_without_nondeterminism(name: str) -> None:
    replayer = Replayer(workflows=list(worker.WORKFLOWS), data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history(name), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure!r}"


@workflow.defn(name=ENROLMENT_WORKFLOW, sandboxed=False)
class CopiedEnrolmentWorkflow(EnrolmentWorkflow):
    """The control: the same code, defined the same way as the altered copy below."""

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        return await super().run(inp)


@workflow.defn(name=ENROLMENT_WORKFLOW, sandboxed=False)
class PausingEnrolmentWorkflow(EnrolmentWorkflow):
    """An innocent-looking, unpatched edit: pause a second before starting.

    On replay the code asks for a timer where the history holds the checkout activity.
    """

    @workflow.run
    async def run(self, inp: EnrolmentInput) -> EnrolmentResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


@pytest.mark.parametrize("name", ["baseline/happy", "baseline/resubmission-run1"])
async def test_replay_catches_an_incompatible_change(name: str) -> None:
    control = Replayer(workflows=[CopiedEnrolmentWorkflow], data_converter=pydantic_data_converter)
    assert (await control.replay_workflow(history(name))).replay_failure is None

    replayer = Replayer(workflows=[PausingEnrolmentWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(history(name))
