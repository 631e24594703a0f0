"""POST/GET /credentials and PUT /evaluators."""

from __future__ import annotations

from typing import Any

import pytest

from microcred.db import transaction
from microcred.models import Credential
from tests.api.conftest import Api
from tests.support import credential_doc, uid


async def test_publish_then_get_returns_the_same_document(api: Api) -> None:
    doc = credential_doc(community={"id": uid("community"), "name": "Practitioners"}).model_dump(mode="json")
    created = await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())
    assert created.status_code == 201
    published = doc | {"retired_at": None}  # the document, and that it is not retired
    assert created.json() == published
    fetched = await api.http.get(f"/api/v1/credentials/{doc['id']}", headers=api.auth("member", "m"))
    assert fetched.status_code == 200 and fetched.json() == published
    listed = await api.http.get("/api/v1/credentials", headers=api.auth("evaluator", "e"))
    assert published in listed.json()["items"]


async def test_a_community_links_to_where_members_find_it(api: Api) -> None:
    community = {"id": uid("community"), "name": "Circle", "url": "https://example.org/circle"}
    doc = credential_doc(community=community).model_dump(mode="json")
    assert (await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())).status_code == 201
    member = uid("member")
    created = await api.enrol(member, doc["id"])
    [item] = [i for i in await api.learning(member) if i["enrolment_id"] == created["id"]]
    assert item["community"] == community | {"access": False}  # granted by the first payment
    # The same community elsewhere must be the same community: name and address.
    elsewhere = credential_doc(community=community | {"url": "https://example.org/other"})
    refused = await api.http.post(
        "/api/v1/credentials", json=elsewhere.model_dump(mode="json"), headers=api.admin()
    )
    assert refused.status_code == 409 and refused.json()["detail"]["url"] == community["url"]


async def test_policies_default_to_the_product_defaults(api: Api) -> None:
    doc = credential_doc().model_dump(mode="json")
    for policy in (
        "submission_window",
        "review_window",
        "payment_window",
        "reminders_before_due",
        "evaluator_reminder_before",
    ):
        doc.pop(policy)
    created = await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())
    assert created.status_code == 201
    body = created.json()
    assert (body["submission_window"], body["review_window"], body["payment_window"]) == (
        "P10M",
        "P14D",
        "PT24H",
    )
    assert body["reminders_before_due"] == ["P30D", "P7D"] and body["evaluator_reminder_before"] == "P3D"


async def test_publishing_an_existing_id_is_409_and_changes_nothing(api: Api) -> None:
    original = await api.publish()
    changed = dict(original, title="Another title")
    changed.pop("retired_at")  # an answer's field, not the document's
    response = await api.http.post("/api/v1/credentials", json=changed, headers=api.admin())
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "already_exists"
    fetched = await api.http.get(f"/api/v1/credentials/{original['id']}", headers=api.admin())
    assert fetched.json()["title"] == original["title"]


def _broken(**change: Any) -> dict[str, Any]:
    doc = credential_doc().model_dump(mode="json")
    doc.update(change)
    return doc


def _long_resource_url() -> dict[str, Any]:
    doc = credential_doc().model_dump(mode="json")
    doc["sections"][0]["resources"] = [{"title": "Guide", "url": "https://example.org/" + "a" * 2000}]
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        _broken(submission_window="ten months"),
        _broken(submission_window="P7990Y"),  # a deadline past the year 9999
        _broken(review_window="P99999999D"),  # beyond the calendar from any date
        _broken(payment_window="PT5M"),
        _broken(payment_window="P2D"),
        _broken(reminders_before_due=["P11M"]),
        _broken(evaluator_reminder_before="P20D"),
        _broken(price={"amount": 0, "currency": "usd"}),
        _broken(price={"amount": 100_000_000, "currency": "usd"}),  # more than Stripe charges
        _broken(resubmission_price={"amount": 10**20, "currency": "usd"}),  # beyond any column
        _broken(price={"amount": 100, "currency": "US Dollars"}),
        _broken(resubmission_price={"amount": 100, "currency": "zzz"}),  # not an ISO 4217 code
        _broken(id="has spaces"),
        _broken(sections=[]),
        _broken(unexpected="field"),
        _long_resource_url(),  # longer than its column (a 500 on PostgreSQL)
    ],
    ids=[
        "duration",
        "endless-window",
        "overflowing-review",
        "short-payment",
        "long-payment",
        "reminder",
        "eval-reminder",
        "free",
        "priceless",
        "overflowing-price",
        "currency",
        "unknown-currency",
        "id",
        "no-sections",
        "unknown-field",
        "long-url",
    ],
)
async def test_invalid_documents_are_422_and_not_stored(api: Api, doc: dict[str, Any]) -> None:
    response = await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())
    assert response.status_code == 422, response.text
    missing = await api.http.get(f"/api/v1/credentials/{doc['id']}", headers=api.admin())
    assert missing.status_code == 404


async def test_sections_need_tasks_and_rubric_and_unique_ids(api: Api) -> None:
    doc = credential_doc().model_dump(mode="json")
    doc["sections"][0]["tasks"] = []
    assert (await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())).status_code == 422
    doc = credential_doc().model_dump(mode="json")
    doc["sections"][1]["tasks"][0]["id"] = "plan-1"
    response = await api.http.post("/api/v1/credentials", json=doc, headers=api.admin())
    assert response.status_code == 422 and "plan-1" in response.text


async def test_unknown_credential_is_404(api: Api) -> None:
    response = await api.http.get("/api/v1/credentials/no-such-thing", headers=api.admin())
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "not_found"


async def test_register_evaluator_for_some_or_all_credentials(api: Api) -> None:
    credential = await api.publish()
    sub = uid("evaluator")
    some = await api.http.put(
        f"/api/v1/evaluators/{sub}",
        json={"name": "Eve", "email": "eve@example.org", "credential_ids": [credential["id"]]},
        headers=api.admin(),
    )
    assert some.status_code == 200
    assert some.json() == {
        "id": sub,
        "name": "Eve",
        "email": "eve@example.org",
        "credential_ids": [credential["id"]],
        "all_credentials": False,
        "on_duty": True,
        "open_reviews": 0,
    }
    everything = await api.http.put(
        f"/api/v1/evaluators/{sub}",
        json={"name": "Eve", "email": "eve@example.org", "credential_ids": []},
        headers=api.admin(),
    )
    assert everything.json()["all_credentials"] is True and everything.json()["credential_ids"] == []


async def test_register_evaluator_rejects_unknown_credentials_and_bad_email(api: Api) -> None:
    sub = uid("evaluator")
    unknown = await api.http.put(
        f"/api/v1/evaluators/{sub}",
        json={"name": "Eve", "email": "eve@example.org", "credential_ids": ["nope"]},
        headers=api.admin(),
    )
    assert unknown.status_code == 422 and unknown.json()["detail"]["credential_ids"] == ["nope"]
    bad_email = await api.http.put(
        f"/api/v1/evaluators/{sub}",
        json={"name": "Eve", "email": "not-an-email", "credential_ids": []},
        headers=api.admin(),
    )
    assert bad_email.status_code == 422
    too_long = await api.http.put(
        f"/api/v1/evaluators/{'e' * 201}",
        json={"name": "Eve", "email": "eve@example.org", "credential_ids": []},
        headers=api.admin(),
    )
    assert too_long.status_code == 422
    missing = await api.http.get("/api/v1/reviews", headers=api.auth("evaluator", "e" * 201))
    assert missing.status_code == 401


async def test_a_stored_policy_over_the_publish_bound_still_reads_back(api: Api) -> None:
    """The P100Y bound is checked when a credential is published, never when a stored one is read:
    a credential published before the bound existed keeps working."""
    credential = await api.publish()
    with transaction(api.sessions) as session:
        row = session.get(Credential, credential["id"])
        assert row is not None
        row.submission_window = "P150Y"
    read = await api.http.get(f"/api/v1/credentials/{credential['id']}", headers=api.admin())
    assert read.status_code == 200 and read.json()["submission_window"] == "P150Y"
    listed = await api.http.get("/api/v1/credentials", headers=api.admin())
    assert listed.status_code == 200
