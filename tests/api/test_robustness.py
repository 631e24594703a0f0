"""Bad input gets a clear 4xx, never a 500, and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlmodel import func, select

from microcred.models import Credential, Enrolment, TaskResponse
from tests.api.conftest import Api, Flow


def counts(api: Api) -> tuple[int, int, int]:
    with api.sessions() as session:
        return (
            session.exec(select(func.count()).select_from(Credential)).one(),
            session.exec(select(func.count()).select_from(Enrolment)).one(),
            session.exec(select(func.count()).select_from(TaskResponse)).one(),
        )


async def test_malformed_and_mistyped_bodies_are_422(flow: Flow) -> None:
    await flow.paid()
    api = flow.api
    before = counts(api)
    json_headers = {"content-type": "application/json"}
    cases = [
        ("POST", "/api/v1/credentials", b"{not json", api.admin()),
        ("POST", "/api/v1/credentials", b'{"id": 5}', api.admin()),
        ("POST", "/api/v1/enrolments", b'{"credential_id": ["a"]}', flow.me),
        ("POST", "/api/v1/enrolments", b"[]", flow.me),
        ("PUT", flow.url("/tasks/plan-1"), b'{"response": 12}', flow.me),
        ("PUT", flow.url("/tasks/plan-1"), b'{"response": "x", "extra": 1}', flow.me),
        ("POST", flow.url("/submit"), b'{"agree_terms": "maybe"}', flow.me),
        ("POST", flow.url("/submit"), b"", flow.me),
        ("PUT", "/api/v1/evaluators/e1", b'{"name": "", "email": "e@example.org"}', api.admin()),
        (
            "POST",
            f"/api/v1/reviews/{flow.enrolment_id}/decision",
            b'{"outcome": "maybe", "marks": []}',
            api.auth("evaluator", flow.evaluator),
        ),
    ]
    for method, path, body, headers in cases:
        response = await api.http.request(method, path, content=body, headers={**headers, **json_headers})
        assert response.status_code == 422, (path, body, response.text)
    assert counts(api) == before


async def test_oversized_bodies_are_413(flow: Flow) -> None:
    await flow.paid()
    before = counts(flow.api)
    huge = b'{"response": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await flow.api.http.put(
        flow.url("/tasks/plan-1"), content=huge, headers={**flow.me, "content-type": "application/json"}
    )
    assert response.status_code == 413  # FastAPI's own limit (max_body_size), before the body is read
    # Without a Content-Length (chunked), the limit still holds while the body streams in.

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    streamed = await flow.api.http.put(
        flow.url("/tasks/plan-1"), content=chunks(), headers={**flow.me, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert counts(flow.api) == before


async def test_unknown_ids_are_404(flow: Flow) -> None:
    await flow.paid()
    api = flow.api
    for method, path, body, headers in [
        ("GET", "/api/v1/enrolments/nope", None, flow.me),
        ("PUT", "/api/v1/enrolments/nope/tasks/plan-1", {"response": "x"}, flow.me),
        ("PUT", flow.url("/tasks/no-such-task"), {"response": "x"}, flow.me),
        ("POST", "/api/v1/enrolments/nope/submit", {"agree_terms": True}, flow.me),
        ("POST", "/api/v1/enrolments/nope/resubmission", None, flow.me),
        ("GET", "/api/v1/reviews/nope", None, api.auth("evaluator", "e")),
        ("POST", "/api/v1/reviews/nope/claim", None, api.auth("evaluator", "e")),
        ("GET", "/api/v1/checkout/nope", None, {}),
        ("POST", "/api/v1/admin/enrolments/nope/cancellation", {"reason": "r"}, api.admin()),
    ]:
        response = await api.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["detail"]["code"] == "not_found"
