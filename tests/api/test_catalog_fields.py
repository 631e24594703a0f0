"""A refused credential document says which field each error is about, so a form can show it there."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.support import credential_doc


def document(**change: Any) -> dict[str, Any]:
    doc = credential_doc().model_dump(mode="json")
    doc.update(change)
    return doc


def repeated_task_in_the_second_section() -> dict[str, Any]:
    doc = document()
    doc["sections"][1]["tasks"][0]["id"] = "plan-1"
    return doc


def repeated_criterion_and_section() -> dict[str, Any]:
    doc = document()
    doc["sections"][1]["rubric"][1]["id"] = "plan-c"
    doc["sections"][1]["id"] = "plan"
    return doc


async def errors(api: Api, doc: dict[str, Any]) -> list[tuple[list[Any], str]]:
    response = await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())
    assert response.status_code == 422, response.text
    assert (await api.http.get(f"/api/v1/credentials/{doc['id']}", headers=api.admin())).status_code == 404
    return [(e["loc"], e["msg"]) for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            document(price={"amount": 9900, "currency": "zzz"}),
            [(["body", "price", "currency"], "'zzz' is not an ISO 4217 currency code")],
        ),
        (
            document(resubmission_price={"amount": 0, "currency": "usd"}),
            [(["body", "resubmission_price", "amount"], "prices must be greater than zero")],
        ),
        (
            document(price={"amount": 100_000_000, "currency": "usd"}),
            [(["body", "price", "amount"], "prices must be at most 99999999")],
        ),
        (
            document(payment_window="P2D"),
            [(["body", "payment_window"], "payment_window must be between PT30M and PT24H")],
        ),
        (
            document(review_window="P0D"),
            [
                (["body", "review_window"], "submission_window and review_window must be longer than zero"),
                # and, consequently, the reminder before it
                (["body", "evaluator_reminder_before"], "evaluator_reminder_before must be shorter than"),
            ],
        ),
        (
            document(submission_window="P2M", reminders_before_due=["P30D", "P3M"]),
            [
                (
                    ["body", "reminders_before_due", 1],
                    "reminder P3M must be shorter than the submission window",
                )
            ],
        ),
        (
            document(evaluator_reminder_before="P20D"),
            [(["body", "evaluator_reminder_before"], "evaluator_reminder_before must be shorter than")],
        ),
        (
            repeated_task_in_the_second_section(),
            [
                (
                    ["body", "sections", 1, "tasks", 0, "id"],
                    "task ids must be unique within the credential: plan-1",
                )
            ],
        ),
        (
            repeated_criterion_and_section(),
            [
                (["body", "sections", 1, "id"], "section ids must be unique within the credential: plan"),
                (
                    ["body", "sections", 1, "rubric", 1, "id"],
                    "rubric criterion ids must be unique within the credential: plan-c",
                ),
            ],
        ),
    ],
    ids=[
        "currency",
        "free-resubmission",
        "priceless",
        "payment-window",
        "no-review-window",
        "reminder",
        "evaluator-reminder",
        "task-id",
        "section-and-criterion-ids",
    ],
)
async def test_each_error_is_located_at_its_field(
    api: Api, doc: dict[str, Any], expected: list[tuple[list[Any], str]]
) -> None:
    found = await errors(api, doc)
    assert [loc for loc, _ in found] == [loc for loc, _ in expected]
    for (_, message), (_, start) in zip(found, expected, strict=True):
        assert message.startswith(f"Value error, {start}"), message  # the messages as they were


async def test_every_broken_rule_is_reported_at_once(api: Api) -> None:
    doc = document(
        price={"amount": 0, "currency": "zzz"}, payment_window="PT5M", evaluator_reminder_before="P20D"
    )
    doc["sections"][1]["tasks"][0]["id"] = "plan-2"
    assert [loc for loc, _ in await errors(api, doc)] == [
        ["body", "price", "amount"],
        ["body", "price", "currency"],
        ["body", "payment_window"],
        ["body", "evaluator_reminder_before"],
        ["body", "sections", 1, "tasks", 0, "id"],
    ]
