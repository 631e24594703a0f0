"""Evidence files' housekeeping: the sweep of uploads never completed."""

from __future__ import annotations

from temporalio import activity

from microcred.contracts import SweepInput, SweepResult
from microcred.db import SessionFactory
from microcred.services import evidence
from microcred.services.evidence import Evidence


class EvidenceActivities:
    def __init__(self, sessions: SessionFactory, files: Evidence) -> None:
        self._sessions = sessions
        self._files = files

    @activity.defn(name="evidence.sweep_stale")
    def sweep_stale(self, inp: SweepInput) -> SweepResult:
        """Remove every upload older than the stale age with its object (idempotent)."""
        removed = evidence.sweep_stale(self._sessions, evidence=self._files, now=inp.now)
        return SweepResult(removed=removed)
