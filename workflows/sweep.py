"""Remove evidence uploads never completed (``MICROCRED_EVIDENCE_STALE_AFTER``, a day).

Started every hour by the Temporal Schedule ``evidence-sweep`` that ``microcred setup`` and
``microcred dev`` create. The activity does the work (rows, objects, unfinished parts); the
workflow sees how many it removed, nothing more.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import activities

with workflow.unsafe.imports_passed_through():
    from microcred.contracts import SweepInput, SweepResult
    from microcred.temporal.names import EVIDENCE_SWEEP_WORKFLOW


@workflow.defn(name=EVIDENCE_SWEEP_WORKFLOW)
class EvidenceSweepWorkflow:
    @workflow.run
    async def run(self) -> SweepResult:
        return await activities.sweep_uploads(SweepInput(now=workflow.now()))
