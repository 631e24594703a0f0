"""Cursor pagination of the lists: pages follow each other without gaps or repeats, the last
page says so, and a cursor the API did not hand out is refused."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, eventually_status
from tests.support import uid


async def walk(api: Api, path: str, headers: dict[str, str], limit: int) -> list[list[Any]]:
    """Every page of a list, ``limit`` items at a time."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await api.http.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_my_learning_pages_newest_first(api: Api) -> None:
    member = uid("member")
    ids = []
    for _ in range(5):
        credential = await api.publish()
        ids.append((await api.enrol(member, credential["id"]))["id"])
    me = api.auth("member", member)
    pages = await walk(api, "/api/v1/me/learning", me, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i["enrolment_id"] for p in pages for i in p] == list(reversed(ids))
    whole = (await api.http.get("/api/v1/me/learning", headers=me)).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 5


async def test_the_catalog_and_the_timeline_page_in_order(api: Api) -> None:
    first, second = await api.publish(), await api.publish()
    admin = api.admin()
    listed = [c["id"] for p in await walk(api, "/api/v1/credentials", admin, limit=1) for c in p]
    assert listed.index(first["id"]) < listed.index(second["id"])
    member = uid("member")
    created = await api.enrol(member, first["id"])
    await api.pay(created["checkout_session_id"])
    await eventually_status(api, member, created["id"], "in_progress")
    timeline = f"/api/v1/enrolments/{created['id']}/timeline"
    whole = (await api.http.get(timeline, headers=admin)).json()["items"]
    paged = [e for p in await walk(api, timeline, admin, limit=1) for e in p]
    assert paged == whole and len(whole) >= 2


async def test_a_cursor_the_api_did_not_hand_out_is_refused(api: Api) -> None:
    me = api.auth("member", uid("member"))
    for bad in ("nonsense", "W10", "eyJ4IjoxfQ"):
        response = await api.http.get("/api/v1/me/learning", params={"cursor": bad}, headers=me)
        assert response.status_code == 422, bad
        assert response.json()["detail"]["code"] == "invalid_request"
    for limit in (0, 201):
        response = await api.http.get("/api/v1/me/learning", params={"limit": limit}, headers=me)
        assert response.status_code == 422
