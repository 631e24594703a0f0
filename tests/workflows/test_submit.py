"""Submitting for review: every refusal leaves the enrolment as it was."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import Status, SubmitRequest, SubmitResult
from microcred.db import SessionFactory
from microcred.errors import InvalidState, MicrocredError, NotEditable, TasksIncomplete, TermsNotAgreed
from tests.support import credential_doc, publish
from tests.workflows.harness import refused, running, work_answered


async def test_every_submit_refusal_leaves_the_enrolment_as_it_was(
    ts_env: WorkflowEnvironment, db: SessionFactory
) -> None:
    doc = publish(db, credential_doc())
    async with running(ts_env, db) as h:
        e = await h.enrol(doc)

        def submit(agree: bool = True, answered: list[str] | None = None) -> Awaitable[SubmitResult]:
            claimed = work_answered(db, e.id) if answered is None else answered
            return h.workflows.submit(e.id, SubmitRequest(agree_terms=agree, answered_task_ids=claimed))

        error: MicrocredError = await refused(
            h, e, submit(answered=["plan-1", "reflect-1"]), InvalidState
        )  # unpaid
        assert error.extra == {"status": "awaiting_payment"}

        await h.paid(e)
        error = await refused(h, e, submit(), TasksIncomplete)
        assert error.extra == {"tasks": ["plan-1", "reflect-1"]}

        h.save(e, "plan-1", "my unit")
        h.save(e, "reflect-1", "   ")  # blank is not an answer
        error = await refused(h, e, submit(), TasksIncomplete)
        assert error.extra == {"tasks": ["reflect-1"]}

        # The caller claims an answer the store does not hold: the store's own check refuses it.
        error = await refused(h, e, submit(answered=["plan-1", "reflect-1"]), TasksIncomplete)
        assert error.extra == {"tasks": ["reflect-1"]}
        assert h.submission(e, 1) is None

        h.save(e, "reflect-1", "what I learnt")
        await refused(h, e, submit(agree=False), TermsNotAgreed)
        assert h.submission(e, 1) is None
        assert not h.timeline(e, "submitted")
        assert h.save(e, "plan-2", "still editable after every refusal").version == 1

        submitted = await h.workflows.submit(
            e.id, SubmitRequest(agree_terms=True, answered_task_ids=work_answered(db, e.id))
        )
        assert submitted.status is Status.UNDER_REVIEW
        error = await refused(h, e, submit(), InvalidState)
        assert error.extra == {"status": "under_review"}
        with pytest.raises(NotEditable):
            h.save(e, "plan-2", "after submitting")
        frozen = h.submission(e, 1)
        assert frozen is not None
        assert {t: v["response"] for t, v in frozen.responses.items()} == {
            "plan-1": "my unit",
            "plan-2": "still editable after every refusal",
            "reflect-1": "what I learnt",
        }
