"""The workflow sandbox, without the SDK's detour for every payload.

temporalio 1.35 asks the workflow instance for a *serialization context* (which workflow or
activity a payload belongs to) for every payload sequence it decodes in an activation or
encodes in a completion: three passes each way, and the store pass asks twice. The stock
sandboxed instance answers each question by compiling a string of code and running it inside
the sandbox with the restricted importer applied, only to call the SDK's own in-sandbox
instance, which looks the command up in its tables. No workflow code runs on that path, so the
sandbox guards nothing there; it only costs CPU. Measured in the lifecycle benchmark it was a
quarter of the worker's Python time.

``LeanSandboxedWorkflowRunner`` is the stock runner with exactly that path shortened: it asks
the in-sandbox instance directly. Workflow code, its imports and its activations still run in
the sandbox, with the same restrictions (tests/workflows/test_sandbox.py proves both: the same
contexts as the stock runner, and a forbidden call still fails the workflow task).

It reaches into the SDK's private ``_Instance``. If a temporalio release changes that class,
the runner falls back to the stock behaviour (and ``workflow_runner`` logs a warning), and the
test of the lean path fails: an upgrade is noticed in CI but never breaks a worker. Drop this
module once the SDK answers these questions without entering the sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as stock

log = logging.getLogger(__name__)

_IN_SANDBOX = "__temporal_in_sandbox"  # the name the stock instance binds its in-sandbox half to


def _stock_instance_is_as_expected() -> bool:
    instance = getattr(stock, "_Instance", None)
    return instance is not None and all(
        callable(getattr(instance, name, None))
        for name in ("_create_instance", "get_serialization_context", "get_external_store_context")
    )


if _stock_instance_is_as_expected():

    class _LeanInstance(stock._Instance):
        """The stock sandboxed instance; context questions skip the sandbox round trip."""

        def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
            context: SerializationContext | None = self._ask(
                "get_serialization_context", command_info, super().get_serialization_context
            )
            return context

        def get_external_store_context(self, command_info: Any) -> Any:
            return self._ask("get_external_store_context", command_info, super().get_external_store_context)

        def _ask(self, question: str, command_info: Any, the_stock_way: Callable[[Any], Any]) -> Any:
            in_sandbox = self.globals_and_locals.get(_IN_SANDBOX)
            if in_sandbox is None:  # a temporalio release that names it otherwise
                return the_stock_way(command_info)
            self.importer.restriction_context.is_runtime = True
            try:
                return getattr(in_sandbox, question)(command_info)
            finally:
                self.importer.restriction_context.is_runtime = False

    @dataclass(frozen=True)
    class LeanSandboxedWorkflowRunner(SandboxedWorkflowRunner):
        """``SandboxedWorkflowRunner`` whose instances answer context questions directly."""

        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            return _LeanInstance(det, self.runner_class, self.restrictions)

    LEAN_RUNNER_AVAILABLE = True
else:  # pragma: no cover - only with a temporalio release whose sandbox internals differ
    LEAN_RUNNER_AVAILABLE = False


def workflow_runner(
    restrictions: SandboxRestrictions = SandboxRestrictions.default,
) -> SandboxedWorkflowRunner:
    """The runner every microcred worker uses (and the benchmark's bare engine, for fairness)."""
    if LEAN_RUNNER_AVAILABLE:
        return LeanSandboxedWorkflowRunner(restrictions=restrictions)
    log.warning("temporalio's sandbox changed; running workflows on the stock sandbox runner")
    return SandboxedWorkflowRunner(restrictions=restrictions)
