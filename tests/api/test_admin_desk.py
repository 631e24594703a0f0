"""The admins' desk: retiring a credential, searching enrolments, one enrolment whole, and the
attention list with its operator alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from microcred.contracts import Status
from microcred.db import SessionFactory, transaction
from microcred.errors import NotFound
from microcred.models import AlertResolution, Enrolment, Member, Notification, Submission
from microcred.services import assignment, desk, people, review_history, reviews
from microcred.services import attention as needs_attention
from tests.activities.builders import AT, add_member, enrolment
from tests.api.conftest import Api, Flow, eventually, eventually_status
from tests.api.staff import code, named, submit
from tests.api.test_webhooks import deliver, event, session_object
from tests.support import publish, register_evaluator, uid

SEARCH = "/api/v1/admin/enrolments"
ATTENTION = "/api/v1/admin/attention"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/evaluators", None),
        ("PUT", "/api/v1/evaluators/e1/duty", {"on_duty": False}),
        ("GET", "/api/v1/evaluators/e1/reviews", None),
        ("POST", "/api/v1/credentials/c1/retirement", {"reason": "old"}),
        ("GET", SEARCH, None),
        ("GET", f"{SEARCH}/x", None),
        ("GET", ATTENTION, None),
        ("POST", f"{ATTENTION}/n1/resolution", {"note": "done"}),
    ],
)
async def test_admin_routes_are_for_admins(api: Api, method: str, path: str, body: Any) -> None:
    for role in ("member", "evaluator"):
        refused = await api.http.request(method, path, json=body, headers=api.auth(role, uid(role)))
        assert refused.status_code == 403 and code(refused) == "forbidden", (role, refused.text)
    anonymous = await api.http.request(method, path, json=body)
    assert anonymous.status_code == 401 and code(anonymous) == "unauthenticated"


@pytest.mark.parametrize("path", ["/api/v1/reviews/decided", "/api/v1/reviews/x/attempts"])
async def test_evaluator_routes_are_for_evaluators(api: Api, path: str) -> None:
    for role in ("member", "admin"):
        assert (await api.http.get(path, headers=api.auth(role, uid(role)))).status_code == 403
    assert (await api.http.get(path)).status_code == 401


# --- retirement -------------------------------------------------------------------------------


async def test_a_retired_credential_is_not_sold_but_its_enrolments_go_on(flow: Flow) -> None:
    api, cid = flow.api, flow.credential["id"]
    await flow.paid()
    url = f"/api/v1/credentials/{cid}/retirement"
    retired = await api.http.post(url, json={"reason": "superseded by v2"}, headers=api.admin())
    assert retired.status_code == 200, retired.text
    body = retired.json()
    assert body["retired_at"] and body["id"] == cid and body["sections"] == flow.credential["sections"]
    again = await api.http.post(url, json={"reason": "twice"}, headers=api.admin())
    assert again.status_code == 200 and again.json()["retired_at"] == body["retired_at"]  # the first kept
    assert (await api.http.post(url, json={"reason": ""}, headers=api.admin())).status_code == 422
    unknown = await api.http.post(
        "/api/v1/credentials/nope/retirement", json={"reason": "x"}, headers=api.admin()
    )
    assert unknown.status_code == 404

    someone = api.auth("member", uid("member"))
    refused = await api.http.post("/api/v1/enrolments", json={"credential_id": cid}, headers=someone)
    assert refused.status_code == 409 and code(refused) == "credential_retired"
    for role in ("member", "evaluator"):
        listed = (await api.http.get("/api/v1/credentials", headers=api.auth(role, uid(role)))).json()
        assert cid not in [c["id"] for c in listed["items"]]
    listed = (await api.http.get("/api/v1/credentials", headers=api.admin())).json()["items"]
    assert [c["retired_at"] for c in listed if c["id"] == cid] == [body["retired_at"]]
    still_readable = await api.http.get(f"/api/v1/credentials/{cid}", headers=flow.me)
    assert still_readable.status_code == 200 and still_readable.json()["retired_at"] == body["retired_at"]

    # The running enrolment goes on: work, submission, decision, badge.
    for task in ("plan-1", "reflect-1"):
        assert (await flow.save(task)).status_code == 200
    submitted = await api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    assert submitted.status_code == 200
    await flow.assigned()
    assert (await flow.decide("approved")).status_code == 200
    await eventually_status(api, flow.member, flow.enrolment_id, "approved")


# --- search -----------------------------------------------------------------------------------


async def buy(api: Api, credential_id: str, member: str, *, name: str | None = None) -> str:
    headers = named("member", member, name) if name else api.auth("member", member)
    response = await api.http.post(
        "/api/v1/enrolments", json={"credential_id": credential_id}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def found(api: Api, **params: Any) -> list[str]:
    response = await api.http.get(SEARCH, params=params, headers=api.admin())
    assert response.status_code == 200, response.text
    return [i["enrolment_id"] for i in response.json()["items"]]


async def test_search_by_each_filter_newest_first(api: Api) -> None:
    first, second = await api.publish(), await api.publish(title="Assessment literacy")
    grace, other = uid("member"), uid("member")
    g1 = await buy(api, first["id"], grace, name="Grace Hopper")
    g2 = await buy(api, second["id"], grace)  # her name is kept from her first purchase
    o1 = await buy(api, first["id"], other)
    flow = Flow(api=api, credential=first, member=grace, evaluator="nobody", enrolment_id=g1)
    await api.pay((await api.http.get(flow.url(), headers=flow.me)).json()["checkout_session_id"])
    await eventually_status(api, grace, g1, "in_progress")

    assert await found(api) == [o1, g2, g1]
    assert await found(api, member=other) == [o1]  # an exact id
    assert await found(api, member="GRACE hop") == [g2, g1]  # part of the name, any case
    assert await found(api, member=other[-6:] + "@EXAMPLE") == [o1]  # part of the email
    assert await found(api, member="%") == []  # a wildcard is a character like any other
    assert await found(api, credential_id=second["id"]) == [g2]
    assert await found(api, status="in_progress") == [g1]
    assert await found(api, status="awaiting_payment", credential_id=first["id"]) == [o1]
    assert await found(api, enrolment_id=g2) == [g2]
    assert await found(api, member=grace, status="approved") == []
    bad = await api.http.get(SEARCH, params={"status": "paid"}, headers=api.admin())
    assert bad.status_code == 422

    page = (await api.http.get(SEARCH, params={"limit": 2}, headers=api.admin())).json()
    assert [i["enrolment_id"] for i in page["items"]] == [o1, g2]
    rest = (await api.http.get(SEARCH, params={"cursor": page["next_cursor"]}, headers=api.admin())).json()
    assert [i["enrolment_id"] for i in rest["items"]] == [g1] and rest["next_cursor"] is None

    [item] = (await api.http.get(SEARCH, params={"enrolment_id": g1}, headers=api.admin())).json()["items"]
    assert item["member_id"] == grace and item["member_name"] == "Grace Hopper"
    assert item["member_email"] == f"{grace}@example.org" and item["credential_id"] == first["id"]
    assert item["title"] == first["title"] and item["status"] == "in_progress" and item["attempt"] == 1
    assert item["purchased_at"] and item["due_at"] and item["created_at"]
    assert (item["submitted_at"], item["review_due_at"], item["evaluator_id"]) == (None, None, None)
    assert item["review_overdue"] is False
    [nameless] = (await api.http.get(SEARCH, params={"enrolment_id": o1}, headers=api.admin())).json()[
        "items"
    ]
    assert nameless["member_name"] == other  # no name known: the id


# --- one enrolment whole ----------------------------------------------------------------------


async def test_one_enrolment_whole(api: Api) -> None:
    credential = await api.publish(community={"id": uid("community"), "name": "Circle"})
    evaluator = await api.evaluator([credential["id"]])
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator=evaluator)
    await flow.paid()
    await flow.save("plan-1", "my plan")
    url = f"{SEARCH}/{flow.enrolment_id}"

    working = (await api.http.get(url, headers=api.admin())).json()
    tasks = {t["id"]: t for s in working["sections"] for t in s["tasks"]}
    assert tasks["plan-1"]["response"] == "my plan" and tasks["plan-1"]["version"] == 1
    assert tasks["reflect-1"]["response"] is None and {t["editable"] for t in tasks.values()} == {True}
    assert working["status"] == "in_progress" and working["rubric"] is None and working["badge_url"] is None
    assert working["workflow_id"] == f"enrolment-{flow.enrolment_id}"
    assert working["temporal_ui_url"] is None  # MICROCRED_TEMPORAL_UI_URL is unset here

    async def receipt_listed() -> str | None:
        notes = (await api.http.get(url, headers=api.admin())).json()["notifications"]
        return next((n["id"] for n in notes if n["kind"] == "purchase_receipt"), None)

    receipt_id = await eventually(receipt_listed)
    resent = await api.http.post(
        f"{url}/notifications/{receipt_id}/resend", json={"reason": "lost"}, headers=api.admin()
    )
    assert resent.status_code == 204  # the ids are the ones the re-send repair takes

    await flow.save("reflect-1")
    assert (
        await api.http.post(flow.url("/submit"), json={"agree_terms": True}, headers=flow.me)
    ).status_code == 200
    await flow.assigned()
    await flow.decide("approved")
    await eventually_status(api, flow.member, flow.enrolment_id, "approved")

    async def badged() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await api.http.get(url, headers=api.admin())).json()
        return detail if detail["badge_url"] else None

    detail = await eventually(badged)
    assert detail["enrolment_id"] == flow.enrolment_id and detail["member_id"] == flow.member
    assert detail["evaluator_id"] == evaluator and detail["decision"] == "approved"
    community = {"id": credential["community"]["id"], "name": "Circle", "url": None, "access": True}
    assert detail["community"] == community
    assert {t["editable"] for s in detail["sections"] for t in s["tasks"]} == {False}
    assert detail["rubric"]["attempt"] == 1 and detail["rubric"]["decision"] == "approved"
    [payment] = detail["payments"]
    assert payment["checkout_session_id"] == flow.checkout_session_id and payment["kind"] == "purchase"
    assert (payment["amount"], payment["currency"], payment["status"]) == (9900, "usd", "paid")
    assert payment["paid_at"] and payment["refunded_amount"] is None and payment["refunded_at"] is None
    kinds = [n["kind"] for n in detail["notifications"]]
    assert {"purchase_receipt", "evaluator_assigned", "decision"} <= set(kinds)
    receipt = detail["notifications"][kinds.index("purchase_receipt")]  # the first, oldest first
    assert receipt["recipient_id"] == flow.member and receipt["subject"] and receipt["mail_status"]
    assert receipt["id"] == receipt_id
    assert (await api.http.get(f"{SEARCH}/nope", headers=api.admin())).status_code == 404


def test_the_workflow_link_into_the_temporal_ui() -> None:
    workflow_url = desk.workflow_url
    link = workflow_url(temporal_ui_url="http://127.0.0.1:8233/", namespace="default", enrolment_id="ab12")
    assert link == "http://127.0.0.1:8233/namespaces/default/workflows/enrolment-ab12"
    assert workflow_url(temporal_ui_url=None, namespace="default", enrolment_id="ab12") is None


# --- attention --------------------------------------------------------------------------------


async def attention_of(api: Api, enrolment_id: str) -> list[dict[str, Any]]:
    items = (await api.http.get(ATTENTION, headers=api.admin())).json()["items"]
    return [i for i in items if i["enrolment_id"] == enrolment_id]


async def test_an_unassigned_review_waits_in_the_list_until_claimed(api: Api) -> None:
    credential = await api.publish()
    flow = Flow(api=api, credential=credential, member=uid("member"), evaluator="nobody")
    await submit(flow)

    async def listed() -> list[dict[str, Any]]:
        return await attention_of(api, flow.enrolment_id)

    [item] = await eventually(listed)
    [row] = (
        await api.http.get(SEARCH, params={"enrolment_id": flow.enrolment_id}, headers=api.admin())
    ).json()["items"]
    assert item["kind"] == "review_unassigned" and item["since"] == row["submitted_at"]
    assert item["title"] == credential["title"] and item["member_name"] == flow.member
    assert item["notification_id"] is None and "waits for an evaluator" in item["summary"]

    flow.evaluator = await api.evaluator([credential["id"]])
    claimed = await api.http.post(f"/api/v1/reviews/{flow.enrolment_id}/claim", headers=flow.reviewer)
    assert claimed.status_code == 200
    assert await attention_of(api, flow.enrolment_id) == []


async def test_an_overdue_review_is_listed_until_handed_over(flow: Flow, ts_env: WorkflowEnvironment) -> None:
    api = flow.api
    await flow.submitted()
    assert await attention_of(api, flow.enrolment_id) == []  # assigned, and not due yet
    await ts_env.sleep(timedelta(days=15))  # past the 14-day review window; nobody else to take it

    async def overdue() -> list[dict[str, Any]]:
        return await attention_of(api, flow.enrolment_id)

    [item] = await eventually(overdue)
    [row] = (
        await api.http.get(SEARCH, params={"enrolment_id": flow.enrolment_id}, headers=api.admin())
    ).json()["items"]
    assert row["review_overdue"] is True
    assert item["kind"] == "review_overdue" and item["since"] == row["review_due_at"]
    assert f"held by {flow.evaluator}" in item["summary"] and item["notification_id"] is None

    colleague = await api.evaluator([flow.credential["id"]])
    moved = await api.http.post(
        f"{SEARCH}/{flow.enrolment_id}/reassignment",
        json={"reason": "overdue", "evaluator_id": colleague},
        headers=api.admin(),
    )
    assert moved.status_code == 200 and moved.json()["review_overdue"] is True  # still late, but held anew
    assert await attention_of(api, flow.enrolment_id) == []


async def test_an_operator_alert_is_listed_until_resolved(flow: Flow) -> None:
    api = flow.api
    await flow.buy()
    paid_too_little = event("checkout.session.completed", session_object(flow, amount_total=100))
    assert (await deliver(flow, paid_too_little)).json()["outcome"] == "amount_mismatch"

    async def alerted() -> list[dict[str, Any]]:
        return await attention_of(api, flow.enrolment_id)

    [alert] = await eventually(alerted)
    assert alert["kind"] == "operator_alert" and alert["notification_id"]
    assert "100 usd" in alert["summary"] and alert["title"] == flow.credential["title"]
    assert alert["member_name"] == flow.member and alert["since"]

    url = f"{ATTENTION}/{alert['notification_id']}/resolution"
    assert (await api.http.post(url, json={"note": ""}, headers=api.admin())).status_code == 422
    resolved = await api.http.post(url, json={"note": "refund checked at Stripe"}, headers=api.admin())
    assert resolved.status_code == 204
    assert await attention_of(api, flow.enrolment_id) == []
    again = await api.http.post(url, json={"note": "twice"}, headers=api.auth("admin", "admin-2"))
    assert again.status_code == 204
    with api.sessions() as session:
        stored = session.get(AlertResolution, alert["notification_id"])
        assert stored is not None
        assert (stored.resolved_by, stored.note) == ("admin-1", "refund checked at Stripe")  # the first
        assert stored.resolved_at <= datetime.now(UTC)

    unknown = await api.http.post(f"{ATTENTION}/nope/resolution", json={"note": "x"}, headers=api.admin())
    assert unknown.status_code == 404
    mine = (await api.http.get("/api/v1/me/notifications", headers=flow.me)).json()["items"]
    not_an_alert = await api.http.post(
        f"{ATTENTION}/{mine[0]['id']}/resolution", json={"note": "x"}, headers=api.admin()
    )
    assert not_an_alert.status_code == 404


# --- the desk's queries on both databases -------------------------------------------------------
# On the shared databases: other tests' rows are there too, so these look only at their own.


def every_attention_item(sessions: SessionFactory) -> list[dict[str, Any]]:
    """The whole attention list, two at a time (each page after the previous one's cursor)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        with sessions() as session:
            page, cursor = needs_attention.items(session, cursor=cursor, limit=2)
        found += page
        if cursor is None:
            return found


def test_the_attention_list_query(sessions: SessionFactory) -> None:
    doc = publish(sessions)
    late = enrolment(sessions, doc, status=Status.UNDER_REVIEW, evaluator_id=uid("late"))
    waiting = enrolment(sessions, doc, status=Status.UNDER_REVIEW)
    held = enrolment(sessions, doc, status=Status.UNDER_REVIEW, evaluator_id=uid("on-time"))
    alert_id, receipt_id = str(uuid.uuid4()), str(uuid.uuid4())
    with transaction(sessions) as session:
        row = session.get(Enrolment, late.enrolment_id)
        assert row is not None
        row.review_overdue = True
        for nid, kind, audience in (
            (alert_id, "operator_alert", "admins"),
            (receipt_id, "purchase_receipt", "member"),
        ):
            session.add(
                Notification(
                    id=nid,
                    key=f"test:{nid}",
                    kind=kind,
                    audience=audience,
                    recipient_id="admins" if audience == "admins" else held.member_id,
                    enrolment_id=held.enrolment_id,
                    subject="s",
                    body="settle checkout cs_1 by hand",
                    created_at=AT + timedelta(days=1),
                )
            )
    mine = {late.enrolment_id, waiting.enrolment_id, held.enrolment_id}
    listed = [i for i in every_attention_item(sessions) if i["enrolment_id"] in mine]
    assert [(i["kind"], i["enrolment_id"], i["since"]) for i in listed] == [
        ("review_unassigned", waiting.enrolment_id, AT),  # submitted at AT
        ("operator_alert", held.enrolment_id, AT + timedelta(days=1)),
        ("review_overdue", late.enrolment_id, AT + timedelta(days=14)),  # due 14 days after
    ]
    assert listed[1]["notification_id"] == alert_id and listed[1]["summary"] == "settle checkout cs_1 by hand"
    assert {i["title"] for i in listed} == {doc.title} and listed[0]["member_name"] == waiting.member_id

    with transaction(sessions) as session:
        needs_attention.resolve(session, notification_id=alert_id, actor="admin-1", note="done", now=AT)
    with transaction(sessions) as session:
        needs_attention.resolve(session, notification_id=alert_id, actor="admin-2", note="again", now=AT)
        with pytest.raises(NotFound):
            needs_attention.resolve(session, notification_id=receipt_id, actor="admin-1", note="x", now=AT)
    assert [i["kind"] for i in every_attention_item(sessions) if i["enrolment_id"] in mine] == [
        "review_unassigned",
        "review_overdue",
    ]


def test_the_search_query(sessions: SessionFactory) -> None:
    doc = publish(sessions)
    ada = add_member(sessions, uid("ada"))
    with transaction(sessions) as session:
        member = session.get(Member, ada)
        assert member is not None
        member.name, member.email = "Ada 100% Lovelace", "ada_l@example.org"
    first = enrolment(sessions, doc, member_id=ada)
    second = enrolment(sessions, doc, status=Status.UNDER_REVIEW)

    def search(**filters: Any) -> list[str]:
        query: dict[str, Any] = {"member": None, "status": None, "enrolment_id": None} | filters
        with sessions() as session:
            items, _ = desk.search(session, credential_id=doc.id, cursor=None, limit=50, **query)
        return [i["enrolment_id"] for i in items]

    assert set(search()) == {first.enrolment_id, second.enrolment_id}
    assert search(member="ADA 100%") == [first.enrolment_id]  # % as a character
    assert search(member="a_l@") == [first.enrolment_id] and search(member="a%l@") == []
    assert search(member=second.member_id) == [second.enrolment_id]
    assert search(status=Status.UNDER_REVIEW) == [second.enrolment_id]
    assert search(enrolment_id=first.enrolment_id, member="lovelace") == [first.enrolment_id]


def test_the_evaluators_queries(sessions: SessionFactory) -> None:
    doc = publish(sessions)
    away = register_evaluator(sessions, uid("away"), credential_ids=[doc.id])
    seeded = enrolment(sessions, doc, status=Status.UNDER_REVIEW, evaluator_id=away)
    unassigned = enrolment(sessions, doc, status=Status.UNDER_REVIEW)
    with transaction(sessions) as session:
        session.add(
            Submission(
                enrolment_id=seeded.enrolment_id,
                attempt=1,
                submitted_at=AT,
                responses={},
                evaluator_id=away,
                outcome="resubmit",
                decided_at=AT + timedelta(days=2),
            )
        )
        assert people.set_duty(session, evaluator_id=away, on_duty=False)["open_reviews"] == 1
    with sessions() as session:
        queue, _ = reviews.queue(session, evaluator_id=away, cursor=None, limit=200)
        held, _ = reviews.assigned_to(session, evaluator_id=away, cursor=None, limit=50)
        decided, _ = review_history.decided(session, evaluator_id=away, cursor=None, limit=50)
        picks = assignment.eligible_evaluators(session, credential_id=doc.id, member_id=seeded.member_id)
    ids = [i["enrolment_id"] for i in queue]
    assert seeded.enrolment_id in ids and unassigned.enrolment_id not in ids  # nothing to claim off duty
    assert [i["enrolment_id"] for i in held] == [seeded.enrolment_id]
    assert [(d["enrolment_id"], d["decision"]) for d in decided] == [(seeded.enrolment_id, "resubmit")]
    assert away not in [e for e, _ in picks]
