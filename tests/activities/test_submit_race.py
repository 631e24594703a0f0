"""A submit racing the member's saves: the frozen snapshot and the accepted saves must agree.

Several threads, each with its own session and connection, keep saving tasks of one enrolment
while the submit (``StoreActivities.freeze_submission``) runs. Whatever the interleaving, a save
that was accepted is in the snapshot, and a save that is refused came too late; none is lost
and none lands after the snapshot was taken. ``db.lock_enrolment`` serialises the two.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from microcred.db import SessionFactory
from microcred.errors import NotEditable
from microcred.models import Submission, TaskResponse
from microcred.services.work import KEPT_VERSIONS
from tests.activities.builders import Seeded, enrolment, freeze_input, save

TASKS = ("plan-1", "plan-2", "reflect-1")
# What each saving thread saves, round-robin. "shared": six threads contend on every task (so the
# version numbers race too); "own": one thread per task, so only the submit races the saves.
LAYOUTS: dict[str, list[tuple[str, ...]]] = {
    "shared": [TASKS[n:] + TASKS[:n] for n in range(6)],
    "own": [(task,) for task in TASKS],
}
ROUNDS = 5
# Accepted saves to wait for before submitting, so the submit lands in the thick of the saving.
SAVES_BEFORE_SUBMIT = 12
WAIT = 60.0


@dataclass(frozen=True)
class Outcome:
    task_id: str
    response: str
    began_after_freeze: bool  # the freeze had committed before this save was sent
    version: int | None  # None: refused with NotEditable


def keep_saving(
    sessions: SessionFactory,
    seeded: Seeded,
    saver: int,
    tasks: tuple[str, ...],
    start: threading.Barrier,
    accepted: threading.Semaphore,
    frozen: threading.Event,
) -> list[Outcome]:
    """Save, round-robin over the tasks, until one save sent after the freeze has been refused."""
    outcomes: list[Outcome] = []
    start.wait(WAIT)
    for n in range(100_000):
        task_id = tasks[n % len(tasks)]
        response = f"saver {saver}, save {n}"
        after = frozen.is_set()
        try:
            version = save(sessions, seeded, task_id, response)
        except NotEditable:
            outcomes.append(Outcome(task_id, response, after, None))
            if after:
                return outcomes
        else:
            outcomes.append(Outcome(task_id, response, after, version))
            accepted.release()
    raise AssertionError("the submit never took effect")


def race(sessions: SessionFactory, layout: list[tuple[str, ...]]) -> tuple[Seeded, list[list[Outcome]]]:
    seeded = enrolment(sessions, seq=4)
    # Every task is answered before the race: the submit itself always succeeds, and every task
    # is in the snapshot however the threads happen to be scheduled.
    seed = [Outcome(t, f"seed {t}", False, save(sessions, seeded, t, f"seed {t}")) for t in TASKS]
    start = threading.Barrier(len(layout) + 1)
    accepted = threading.Semaphore(0)
    frozen = threading.Event()
    with ThreadPoolExecutor(max_workers=len(layout)) as pool:
        savers = [
            pool.submit(keep_saving, sessions, seeded, n, tasks, start, accepted, frozen)
            for n, tasks in enumerate(layout)
        ]
        start.wait(WAIT)
        for _ in range(SAVES_BEFORE_SUBMIT):
            assert accepted.acquire(timeout=WAIT), "the savers made no progress"
        result = ActivityEnvironment().run(
            StoreActivities(sessions).freeze_submission, freeze_input(seeded, seq=5)
        )
        frozen.set()
        # .result() re-raises anything other than NotEditable: a deadlock, a duplicate version...
        outcomes = [seed, *(s.result(timeout=WAIT) for s in savers)]
    assert result.task_count == len(TASKS)
    return seeded, outcomes


def check(sessions: SessionFactory, seeded: Seeded, outcomes: list[list[Outcome]]) -> None:
    accepted = {(o.task_id, o.version): o.response for run in outcomes for o in run if o.version is not None}
    with sessions() as session:
        submission = session.get(Submission, (seeded.enrolment_id, 1))
        assert submission is not None
        snapshot = submission.responses
        rows = session.exec(
            select(TaskResponse).where(TaskResponse.enrolment_id == seeded.enrolment_id)
        ).all()
    in_database = {(r.task_id, r.version): r.response for r in rows}

    # Every accepted save got the next version of its task; the newest KEPT_VERSIONS of each task
    # are stored, under the version each was told, and nothing else is stored.
    kept: dict[tuple[str, int], str] = {}
    for task_id in TASKS:
        versions = sorted(v for t, v in accepted if t == task_id)
        assert versions == list(range(1, len(versions) + 1)), f"{task_id}: versions {versions}"
        kept |= {(task_id, v): accepted[(task_id, v)] for v in versions[-KEPT_VERSIONS:]}
    assert in_database == kept
    for task_id in TASKS:
        versions = sorted(v for t, v in accepted if t == task_id)
        # The snapshot holds the newest accepted save: none accepted is newer, none is missing.
        newest = versions[-1]
        assert snapshot[task_id]["version"] == newest, (
            f"{task_id}: accepted v{newest}, froze {snapshot[task_id]}"
        )
        assert snapshot[task_id]["response"] == accepted[(task_id, newest)]
    assert set(snapshot) == set(TASKS)

    for run in outcomes[1:]:
        # Every save sent after the freeze committed was refused...
        assert all(o.version is None for o in run if o.began_after_freeze)
        # ...and in each thread, once one save was refused, no later save was accepted.
        first_refusal = next(i for i, o in enumerate(run) if o.version is None)
        assert all(o.version is None for o in run[first_refusal:])
    # The race was real: the submit came while saves were being accepted.
    assert sum(o.version is not None for run in outcomes[1:] for o in run) >= SAVES_BEFORE_SUBMIT


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_submit_racing_saves_freezes_exactly_the_accepted_saves(
    sessions: SessionFactory, layout: str
) -> None:
    for _ in range(ROUNDS):
        seeded, outcomes = race(sessions, LAYOUTS[layout])
        check(sessions, seeded, outcomes)
