"""Record the event histories that ``test_replay.py`` replays against the current workflow code.

Run from the repository root, and commit the JSON it writes (docs/workflow-versioning.md says
when)::

    .venv/bin/python -m tests.workflows.record_histories <folder>

``<folder>`` is ``baseline`` for the first release's histories, or the patch id of a change
to the workflow's commands. It starts its own time-skipping test server and a throwaway SQLite
database, drives every scenario below through the real activities (the badge activity is faked,
as in the workflow tests), and writes each run's history to ``tests/workflows/histories/<folder>/``:

- ``happy``: purchase, submission, assignment, approval, badge;
- ``resubmission-run1`` / ``resubmission-run2``: a resubmission request, its checkout and
  payment, the continue-as-new into attempt 2 (second run), its submission and approval;
- ``expiry``: purchase, both member reminders, expiry at the deadline;
- ``sla-reassigned``: the evaluator reminder, the review SLA breach, the reassignment to another
  evaluator and the late decision;
- ``late-resubmission-payment``: a resubmission paid once the deadline has passed (the payment
  and the deadline reach a restarted worker together): refunded, then expired;
- ``checkout-expiry``: a purchase never paid, cancelled when its checkout's window ends;
- ``last-moment-payment``: a payment recorded whose signal never came, found and used when the
  checkout's window passes, then approved;
- ``wrong-amount``: a payment of another amount than asked: refunded, the purchase cancelled;
- ``cancelled-checkout``: an admin cancels a purchase whose checkout is still open;
- ``processing-payment``: a checkout completed with a bank debit, held when its window ends,
  the debit confirming days later, then approved;
- ``processing-never-confirms``: the same hold, ended (the checkout closed again) when it passes;
- ``refunded-elsewhere``: a paid enrolment refunded in full in Stripe's dashboard (the admins are
  told), then approved;
- ``decision-while-notifying``: approved while the run loop sends the submission's notifications,
  then the badge issued (the path of the patch ``work-after-late-change``).

A folder recorded before is refused: histories are never rewritten, every one must replay.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from microcred import binaries, migrate
from microcred.contracts import (
    CancelEnrolment,
    NotificationKind,
    NotifyInput,
    NotifyResult,
    PaymentConfirmed,
    RefundedElsewhere,
)
from microcred.db import SessionFactory, create_db_engine, make_session_factory
from microcred.temporal.names import Activity
from microcred.temporal.setup import register_search_attributes
from tests.support import (
    credential_doc,
    publish,
    register_evaluator,
    uid,
    webhook_processing,
    webhook_recorded,
)
from tests.workflows.harness import Enrolled, Harness, eventually, real_activity, running

HISTORIES = Path(__file__).parent / "histories"


async def approved(h: Harness, e: Enrolled, evaluator: str) -> Enrolled:
    """From a paid enrolment on: submitted, assigned, approved, finished."""
    await h.submit(e)
    await h.assigned(e, evaluator)
    await h.decide(e, evaluator)
    await h.result(e)
    return e


async def happy(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    e = await h.enrol(doc)
    await h.paid(e)
    return await approved(h, e, evaluator)


async def resubmission(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    e = await h.enrol(doc)
    await h.paid(e)
    await h.submit(e)
    await h.assigned(e, evaluator)
    await h.decide(e, evaluator, unmet=["reflect-c"])
    checkout = await h.workflows.start_resubmission(e.id)
    await h.pay(e, checkout.checkout_session_id, amount=doc.resubmission_price.amount)
    await eventually(lambda: h.row_if(e, status="in_progress", attempt=2), what="attempt 2")
    h.save(e, "reflect-1", "a deeper reflection")
    await h.submit(e, answer=False)
    await h.assigned(e, evaluator)
    await h.decide(e, evaluator)
    await h.result(e)
    return e


async def expiry(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc(submission_window="P2M", reminders_before_due=["P30D", "P7D"]))
    e = await h.enrol(doc)
    await h.paid(e)
    h.save(e, "plan-1", "started, never finished")
    await h.result(e)
    return e


async def sla_reassigned(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc(review_window="P14D"))
    first = register_evaluator(db, uid("a"), credential_ids=[doc.id])
    second = register_evaluator(db, uid("b"), credential_ids=[doc.id])
    e = await h.enrol(doc)
    await h.paid(e)
    submitted = await h.submit(e)
    await h.assigned(e, first)
    await h.advance_to(submitted.review_due_at + timedelta(minutes=1))
    await eventually(lambda: h.row_if(e, evaluator_id=second, review_overdue=True), what="reassigned")
    await h.assigned(e, second)
    await h.decide(e, second)
    await h.result(e)
    return e


async def late_resubmission_payment(h: Harness, db: SessionFactory) -> Enrolled:
    """On a worker of its own, stopped while the deadline passes and the payment arrives."""
    doc = publish(db, credential_doc(submission_window="P1M", reminders_before_due=[]))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    async with running(h.env, db, keep=True, cache=False) as first:
        e = await first.enrol(doc)
        await first.paid(e)
        await first.submit(e)
        await first.assigned(e, evaluator)
        await first.decide(e, evaluator, unmet=["reflect-c"])
        due_at = first.row(e).due_at
        assert due_at is not None
        await first.advance_to(due_at - timedelta(hours=1))
        checkout = await first.workflows.start_resubmission(e.id)
        await first.quiet(e)
    await first.advance_to(due_at + timedelta(seconds=1))
    await first.pay(e, checkout.checkout_session_id, amount=doc.resubmission_price.amount)
    async with running(h.env, db, task_queue=first.task_queue) as restarted:
        await restarted.result(e)
    return e


async def checkout_expiry(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    e = await h.enrol(doc)
    await h.result(e)
    return e


async def last_moment_payment(h: Harness, db: SessionFactory) -> Enrolled:
    """Paid, but its signal never came (the webhook recorded it, then the API stopped)."""
    doc = publish(db, credential_doc(payment_window="PT2H"))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    e = await h.enrol(doc)
    webhook_recorded(db, e.checkout_session_id, amount=9900)
    await h.advance_to(h.payments(e)[e.checkout_session_id].expires_at + timedelta(minutes=1))
    await eventually(lambda: h.row_if(e, status="in_progress"), what="in progress")
    return await approved(h, e, evaluator)


async def wrong_amount(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc())
    e = await h.enrol(doc)
    webhook_recorded(db, e.checkout_session_id, amount=100)
    wrong = PaymentConfirmed(
        checkout_session_id=e.checkout_session_id, event_id="evt_1", amount=100, currency="usd"
    )
    await h.workflows.payment_mismatched(e.id, wrong)
    await h.result(e)
    return e


async def cancelled_checkout(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc())
    e = await h.enrol(doc)
    await h.workflows.cancel(e.id, CancelEnrolment(actor="admin-1", reason="bought by mistake"))
    await h.result(e)
    return e


async def processing_payment(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    e = await h.held(doc)
    await h.paid(e)
    return await approved(h, e, evaluator)


async def processing_never_confirms(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc(payment_window="PT2H"))
    e = await h.enrol(doc)
    webhook_processing(db, e.checkout_session_id)
    await h.result(e)
    return e


async def refunded_elsewhere(h: Harness, db: SessionFactory) -> Enrolled:
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    e = await h.enrol(doc)
    await h.paid(e)
    refunded = RefundedElsewhere(checkout_session_id=e.checkout_session_id)
    await h.workflows.payment_refunded_elsewhere(e.id, refunded)
    await h.quiet(e)
    return await approved(h, e, evaluator)


async def decision_while_notifying(h: Harness, db: SessionFactory) -> Enrolled:
    """Approved while the run loop sends the submission's notifications (out of its lock)."""
    doc = publish(db, credential_doc())
    evaluator = register_evaluator(db, credential_ids=[doc.id])
    real = real_activity(h.env, db, Activity.NOTIFY)
    sending, release = asyncio.Event(), asyncio.Event()

    @activity.defn(name=Activity.NOTIFY)
    async def notify(inp: NotifyInput) -> NotifyResult:
        if inp.kind is NotificationKind.SUBMISSION_RECEIVED:
            sending.set()
            await release.wait()
        result: NotifyResult = await real(inp)
        return result

    async with running(h.env, db, keep=True, override=[notify]) as racing:
        e = await racing.enrol(doc)
        await racing.paid(e)
        await racing.submit(e)
        await sending.wait()
        await racing.decide(e, evaluator)
        release.set()
        await racing.ended(e)
    return e


SCENARIOS: dict[str, Callable[[Harness, SessionFactory], Awaitable[Enrolled]]] = {
    "happy": happy,
    "resubmission": resubmission,
    "expiry": expiry,
    "sla-reassigned": sla_reassigned,
    "late-resubmission-payment": late_resubmission_payment,
    "checkout-expiry": checkout_expiry,
    "wrong-amount": wrong_amount,
    "cancelled-checkout": cancelled_checkout,
    "last-moment-payment": last_moment_payment,
    "processing-payment": processing_payment,
    "processing-never-confirms": processing_never_confirms,
    "refunded-elsewhere": refunded_elsewhere,
    "decision-while-notifying": decision_while_notifying,
}


async def record(env: WorkflowEnvironment, db: SessionFactory, name: str, folder: Path) -> list[Path]:
    """Run one scenario and write the history of each of its runs, first to last."""
    async with running(env, db) as h:
        e = await SCENARIOS[name](h, db)
        histories: list[WorkflowHistory] = []
        run_id: str | None = None
        while True:  # from the latest run back along the continue-as-new chain
            history = await h.handle(e, run_id).fetch_history()
            histories.insert(0, history)
            started = history.events[0].workflow_execution_started_event_attributes
            if not started.continued_execution_run_id:
                break
            run_id = started.continued_execution_run_id
    written = []
    for number, history in enumerate(histories, start=1):
        path = folder / (f"{name}-run{number}.json" if len(histories) > 1 else f"{name}.json")
        path.write_text(history.to_json())
        written.append(path)
    return written


async def main(name: str) -> None:
    server = binaries.find("temporal-test-server")
    assert server, "temporal-test-server is not on PATH: install the dev requirements"
    folder = HISTORIES / name
    folder.mkdir(parents=True)  # refuses a folder recorded before: its histories are kept
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'microcred.db'}"
        migrate.upgrade(url)
        engine = create_db_engine(url)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter, test_server_existing_path=server
        )
        try:
            await register_search_attributes(env.client, env.client.namespace)
            for name in SCENARIOS:
                for path in await record(env, make_session_factory(engine), name, folder):
                    print(
                        f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
                    )
        finally:
            await env.shutdown()
            engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.workflows.record_histories <baseline|patch-id>")
    asyncio.run(main(sys.argv[1]))
