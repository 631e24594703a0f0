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

It reaches into the SDK's private ``_Instance``, read for the temporalio releases named in
``CHECKED_RELEASES`` only. With any other release the worker runs the stock runner (and logs a
warning), and the test of the lean path fails: an upgrade is noticed in CI and never breaks a
worker. To upgrade, read the new release's ``workflow_sandbox/_runner.py`` again, then add it.
Drop this module once the SDK answers these questions without entering the sandbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import temporalio
from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as stock

log = logging.getLogger(__name__)

_IN_SANDBOX = "__temporal_in_sandbox"  # the name the stock instance binds its in-sandbox half to
# temporalio releases whose sandbox internals this module was checked against.
CHECKED_RELEASES = frozenset({"1.35.0"})
LEAN_RUNNER_AVAILABLE = temporalio.__version__ in CHECKED_RELEASES

if LEAN_RUNNER_AVAILABLE:

    class _LeanInstance(stock._Instance):
        """The stock sandboxed instance; context questions skip the sandbox round trip."""

        def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
            context: SerializationContext | None = self._ask("get_serialization_context", command_info)
            return context

        def get_external_store_context(self, command_info: Any) -> Any:
            return self._ask("get_external_store_context", command_info)

        def _ask(self, question: str, command_info: Any) -> Any:
            """What the stock instance runs in the sandbox, asked of its in-sandbox half directly
            (SDK code only, which touches nothing the restrictions guard)."""
            restriction = self.importer.restriction_context
            was_runtime, restriction.is_runtime = restriction.is_runtime, True
            try:
                return getattr(self.globals_and_locals[_IN_SANDBOX], question)(command_info)
            finally:
                restriction.is_runtime = was_runtime

    @dataclass(frozen=True)
    class LeanSandboxedWorkflowRunner(SandboxedWorkflowRunner):
        """``SandboxedWorkflowRunner`` whose instances answer context questions directly."""

        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            return _LeanInstance(det, self.runner_class, self.restrictions)


def workflow_runner(
    restrictions: SandboxRestrictions = SandboxRestrictions.default,
) -> SandboxedWorkflowRunner:
    """The runner every microcred worker uses (and the benchmark's bare engine, for fairness)."""
    if LEAN_RUNNER_AVAILABLE:
        return LeanSandboxedWorkflowRunner(restrictions=restrictions)
    log.warning(
        "microcred.sandbox was not checked against temporalio %s; running workflows on the stock runner",
        temporalio.__version__,
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
