"""The worker's sandbox runner (microcred.sandbox): the same serialization contexts as the
stock runner without entering the sandbox to get them, and workflow code still sandboxed."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Self

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as stock
from temporalio.workflow import SandboxImportNotificationPolicy

import worker as worker_module
from microcred import sandbox
from microcred.db import SessionFactory
from tests.support import test_settings, uid
from tests.workflows import sandboxed


class RecordingCodec(PayloadCodec, WithSerializationContext):
    """Leaves payloads as they are and notes the context each encode and decode was given."""

    def __init__(self, seen: list[tuple[str, str]], context: SerializationContext | None = None) -> None:
        self.seen = seen
        self.context = context

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(("encode", repr(self.context)) for _ in payloads)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self.seen.extend(("decode", repr(self.context)) for _ in payloads)
        return list(payloads)


@pytest.fixture
def sandbox_entries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The code each sandboxed instance runs inside the sandbox, call by call."""
    entered: list[str] = []
    run_code = stock._Instance._run_code

    def spy(self: Any, code: str, **extra: Any) -> None:
        entered.append(code)
        run_code(self, code, **extra)

    monkeypatch.setattr(stock._Instance, "_run_code", spy)
    yield entered


async def greet(
    env: WorkflowEnvironment, runner: SandboxedWorkflowRunner, task_queue: str
) -> tuple[str, Counter[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    config = env.client.config()
    config["data_converter"] = replace(config["data_converter"], payload_codec=RecordingCodec(seen))
    client = Client(**config)
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[sandboxed.Greeting],
            activities=[sandboxed.shout],
            activity_executor=executor,
            workflow_runner=runner,
        ):
            handle = await client.start_workflow(
                sandboxed.Greeting.run, "hello", id="greeting", task_queue=task_queue
            )
            await handle.execute_update(sandboxed.Greeting.add, "ada")
            await handle.signal(sandboxed.Greeting.add_later, "grace")
            result = await handle.result()
    return result, Counter(seen)


async def test_the_runner_gives_the_stock_contexts_without_entering_the_sandbox(
    ts_env: WorkflowEnvironment, sandbox_entries: list[str]
) -> None:
    assert sandbox.LEAN_RUNNER_AVAILABLE, (
        "a temporalio release not in CHECKED_RELEASES: see microcred/sandbox.py"
    )

    task_queue = uid("tq")  # the contexts name it: both runs use the same
    stock_result, stock_contexts = await greet(ts_env, SandboxedWorkflowRunner(), task_queue)
    stock_entries = list(sandbox_entries)
    sandbox_entries.clear()
    lean_result, lean_contexts = await greet(ts_env, sandbox.workflow_runner(), task_queue)

    assert lean_result == stock_result == "HELLO ada grace"
    assert lean_contexts == stock_contexts
    assert any("ActivitySerializationContext" in context for _, context in lean_contexts)
    asked = [code for code in stock_entries if "get_serialization_context" in code]
    assert len(asked) > 10  # the stock runner enters the sandbox for every payload sequence
    assert not [code for code in sandbox_entries if "context" in code]
    assert any("activate" in code for code in sandbox_entries)  # workflow code still runs inside


async def test_workflow_code_is_still_sandboxed(ts_env: WorkflowEnvironment) -> None:
    task_queue = uid("tq")
    async with Worker(
        ts_env.client,
        task_queue=task_queue,
        workflows=[sandboxed.ReadsTheClock],
        workflow_runner=sandbox.workflow_runner(),
        workflow_failure_exception_types=[Exception],
    ):
        with pytest.raises(WorkflowFailureError) as failed:
            await ts_env.client.execute_workflow(
                sandboxed.ReadsTheClock.run, id=uid("clock"), task_queue=task_queue
            )
    assert "Cannot access datetime.datetime.now" in str(failed.value.cause)


async def test_the_product_worker_passes_through_only_what_it_means_to(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    """A worker validates its workflows by importing them in the sandbox. Every module a workflow
    imports is passed through on purpose (the core's messages and rules, temporalio), except the
    workflows' own code, which the sandbox reloads for each run so that it stays sandboxed: any
    other module imported without passing it through (a database driver, an HTTP client) fails
    this test. The SDK's own strict policy allows one reloaded module per workflow; ours are
    packages, so the policy warns and the test reads the warnings."""
    warn = SandboxRestrictions.default.with_import_notification_policy(
        SandboxImportNotificationPolicy.WARN_ON_UNINTENTIONAL_PASSTHROUGH
    )
    deps = worker_module.deps_from_settings(test_settings(), sessions=db)
    with ThreadPoolExecutor(max_workers=1) as executor, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        built = worker_module.build_worker(
            ts_env.client,
            deps,
            task_queue=uid("tq"),
            executor=executor,
            max_concurrent_activities=1,
            workflow_runner=sandbox.workflow_runner(warn),
        )
        async with built:  # started and shut down, so that it leaves nothing running behind
            pass
    reloaded = {
        str(w.message).split()[1] for w in seen if "not intentionally passed through" in str(w.message)
    }
    assert reloaded, "the policy reported nothing: the test no longer sees what it checks"
    assert {m for m in reloaded if not m.startswith("workflows.")} == set()


async def test_the_product_worker_runs_on_the_lean_runner(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    deps = worker_module.deps_from_settings(test_settings(), sessions=db)
    with ThreadPoolExecutor(max_workers=1) as executor:
        built = worker_module.build_worker(
            ts_env.client, deps, task_queue=uid("tq"), executor=executor, max_concurrent_activities=1
        )
        async with built:
            assert isinstance(built.config().get("workflow_runner"), sandbox.LeanSandboxedWorkflowRunner)
