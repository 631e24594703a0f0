"""The member's task saves (microcred.services.work) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from microcred.contracts import Status
from microcred.db import SessionFactory, transaction
from microcred.errors import NotEditable, NotFound
from microcred.models import Enrolment, TaskResponse
from microcred.services import work
from tests.activities.builders import Seeded, add_member, enrolment, save
from tests.support import uid


def stored(sessions: SessionFactory, seeded: Seeded) -> list[tuple[str, int, int, str]]:
    with sessions() as session:
        rows = session.exec(
            select(TaskResponse)
            .where(TaskResponse.enrolment_id == seeded.enrolment_id)
            .order_by(col(TaskResponse.task_id), col(TaskResponse.version))
        ).all()
    return [(r.task_id, r.version, r.attempt, r.response) for r in rows]


def test_every_save_is_a_new_durable_version(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    before = datetime.now(UTC)

    versions = [save(sessions, seeded, "plan-1", f"draft {n}") for n in (1, 2, 3)]
    versions.append(save(sessions, seeded, "reflect-1", "first thoughts"))

    assert versions == [1, 2, 3, 1]
    assert stored(sessions, seeded) == [
        ("plan-1", 1, 1, "draft 1"),
        ("plan-1", 2, 1, "draft 2"),
        ("plan-1", 3, 1, "draft 3"),
        ("reflect-1", 1, 1, "first thoughts"),
    ]
    with sessions() as session:
        times = session.exec(
            select(TaskResponse.saved_at).where(TaskResponse.enrolment_id == seeded.enrolment_id)
        ).all()
    assert all(t >= before and t.tzinfo is not None for t in times)


def test_a_save_on_a_later_attempt_carries_that_attempt(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions, attempt=2, editable_sections=["reflect"])

    assert save(sessions, seeded, "reflect-1", "revised") == 1
    assert stored(sessions, seeded) == [("reflect-1", 1, 2, "revised")]


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.IN_PROGRESS])
def test_work_is_not_editable_outside_in_progress(sessions: SessionFactory, status: Status) -> None:
    seeded = enrolment(sessions, status=status)

    with pytest.raises(NotEditable) as refused:
        save(sessions, seeded, "plan-1", "an answer")

    assert refused.value.code == "not_editable"
    assert refused.value.extra == {"task_id": "plan-1", "status": status.value, "section_id": "plan"}
    assert stored(sessions, seeded) == []


def test_work_is_not_editable_once_the_deadline_has_passed(sessions: SessionFactory) -> None:
    """Before the workflow's deadline timer has marked it expired, the row still reads in_progress."""
    seeded = enrolment(sessions)
    with transaction(sessions) as session:
        row = session.get(Enrolment, seeded.enrolment_id)
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(seconds=1)

    with pytest.raises(NotEditable) as refused:
        save(sessions, seeded, "plan-1", "too late")

    assert refused.value.message == "the submission deadline has passed"
    assert refused.value.extra == {"task_id": "plan-1", "status": "in_progress", "section_id": "plan"}
    assert stored(sessions, seeded) == []
    with transaction(sessions) as session:
        row = session.get(Enrolment, seeded.enrolment_id)
        assert row is not None
        row.due_at = datetime.now(UTC) + timedelta(hours=1)
    assert save(sessions, seeded, "plan-1", "in time") == 1


def test_the_shown_and_the_applied_rule_agree_at_the_deadline(sessions: SessionFactory) -> None:
    """``section_editable`` (the enrolment's ``editable`` flags) turns false at ``due_at`` exactly."""
    seeded = enrolment(sessions, attempt=2, editable_sections=["reflect"])
    with sessions() as session:
        row = session.get(Enrolment, seeded.enrolment_id)
        assert row is not None and row.due_at is not None
        before, at = row.due_at - timedelta(microseconds=1), row.due_at
        assert work.section_editable(row, "reflect", now=before)
        assert not work.section_editable(row, "reflect", now=at)
        assert not work.section_editable(row, "plan", now=before)
        assert work.edit_refusal(row, "reflect", now=at) == "the submission deadline has passed"
        assert work.edit_refusal(row, "plan", now=at) == "this task cannot be edited now"


def test_a_later_attempt_edits_only_the_sections_listed(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions, attempt=2, editable_sections=["reflect"])

    for task_id in ("plan-1", "plan-2"):
        with pytest.raises(NotEditable) as refused:
            save(sessions, seeded, task_id, "rewritten")
        assert refused.value.extra["section_id"] == "plan"
    assert save(sessions, seeded, "reflect-1", "deeper") == 1
    assert [r[0] for r in stored(sessions, seeded)] == ["reflect-1"]


def test_an_empty_list_of_editable_sections_edits_nothing(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions, attempt=2, editable_sections=[])

    with pytest.raises(NotEditable):
        save(sessions, seeded, "reflect-1", "anything")


def test_another_members_enrolment_is_not_found(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    intruder = Seeded(
        enrolment_id=seeded.enrolment_id, member_id=add_member(sessions), credential_id=seeded.credential_id
    )

    with pytest.raises(NotFound) as missing:
        save(sessions, intruder, "plan-1", "not mine")

    assert missing.value.extra == {"enrolment_id": seeded.enrolment_id}
    assert stored(sessions, seeded) == []


def test_an_unknown_enrolment_is_not_found(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    elsewhere = Seeded(
        enrolment_id=uid("nope"), member_id=seeded.member_id, credential_id=seeded.credential_id
    )

    with pytest.raises(NotFound):
        save(sessions, elsewhere, "plan-1", "lost")


def test_an_unknown_task_is_not_found(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)

    with pytest.raises(NotFound) as missing:
        save(sessions, seeded, "plan-99", "which task?")

    assert missing.value.extra == {"task_id": "plan-99"}
    assert stored(sessions, seeded) == []


def test_drafts_are_bounded_and_the_newest_is_never_lost(sessions: SessionFactory) -> None:
    """Issue 17, fault 6: every autosave was kept for ever. The newest drafts stay (the version
    numbers go on counting, so the other-tab check still works), the oldest go."""
    seeded = enrolment(sessions)
    for n in range(1, work.KEPT_VERSIONS + 11):
        assert save(sessions, seeded, "plan-1", f"draft {n}") == n
    rows = stored(sessions, seeded)
    assert len(rows) == work.KEPT_VERSIONS
    assert rows[0][1] == 11 and rows[-1] == (
        "plan-1",
        work.KEPT_VERSIONS + 10,
        1,
        f"draft {work.KEPT_VERSIONS + 10}",
    )
    with sessions() as session:
        latest = work.latest_responses(session, enrolment_id=seeded.enrolment_id)
    assert latest["plan-1"].response == f"draft {work.KEPT_VERSIONS + 10}"


def test_the_same_text_again_is_no_new_version(sessions: SessionFactory) -> None:
    seeded = enrolment(sessions)
    assert save(sessions, seeded, "plan-1", "my plan") == 1
    assert save(sessions, seeded, "plan-1", "my plan") == 1  # a retried save, a tab in step
    assert save(sessions, seeded, "plan-1", "my plan, longer") == 2
    assert [r[1] for r in stored(sessions, seeded)] == [1, 2]
