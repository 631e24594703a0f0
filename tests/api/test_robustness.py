"""Bad input gets a clear 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import schemathesis
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from microcred.db import create_db_engine, make_session_factory
from microcred.models import Credential, Enrolment, TaskResponse
from tests.api.conftest import Api, Flow, serving
from tests.api.fuzz import CHECKS


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


async def test_a_json_body_that_is_not_utf8_is_invalid_text(flow: Flow) -> None:
    """Bytes no text encoding reads got FastAPI's undocumented 400 (found by the API fuzz)."""
    await flow.paid()
    before = counts(flow.api)
    for body in (b'{"response": "\xff"}', b"v\xff\xfe\x19\xbf"):
        response = await flow.api.http.put(
            flow.url("/tasks/plan-1"), content=body, headers={**flow.me, "content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == {
            "code": "invalid_text",
            "message": "the body is not UTF-8 text",
            "field": "body",
        }
    assert counts(flow.api) == before


async def test_the_answers_the_fuzz_found_undocumented_are_documented(flow: Flow) -> None:
    """Each of these answered a status (or a body) its operation's OpenAPI entry did not name."""
    await flow.paid()
    api = flow.api
    document = (await api.http.get("/openapi.json")).json()
    await flow.save("plan-1")
    await api.http.post(
        f"/api/v1/admin/enrolments/{flow.enrolment_id}/cancellation",
        json={"reason": "test"},
        headers=api.admin(),
    )
    nope, session, task = {"session_id": "nope"}, {"session_id": flow.checkout_session_id}, {"badge_id": "b"}
    cases: list[tuple[str, str, dict[str, str], dict[str, str], Any, dict[str, str]]] = [
        ("GET", "/api/v1/checkout/{session_id}", nope, {}, None, {}),
        ("POST", "/api/v1/checkout/{session_id}/pay", nope, {}, None, {}),
        ("POST", "/api/v1/checkout/{session_id}/pay", session, {}, None, {}),  # paid already: 409
        ("GET", "/api/v1/checkout/complete", {}, nope, None, {}),
        ("POST", "/api/v1/badges/{badge_id}/revoke", task, {}, {"reason": "r"}, {}),
        ("POST", "/api/v1/badges/{badge_id}/revoke", task, {}, {"reason": "r"}, flow.me),
        ("PUT", "/api/v1/badges/{badge_id}/display", task, {}, {"show_name": True}, {}),
        ("PUT", "/api/v1/badges/{badge_id}/display", task, {}, {"show_name": True}, api.admin()),
        (
            "PUT",
            "/api/v1/enrolments/{enrolment_id}/tasks/{task_id}",
            {"enrolment_id": flow.enrolment_id, "task_id": "plan-1"},
            {},
            {"response": "x"},
            flow.me,
        ),  # cancelled: 409 not_editable
        (
            "PUT",
            "/api/v1/enrolments/{enrolment_id}/tasks/{task_id}",
            {"enrolment_id": flow.enrolment_id, "task_id": "plan-1"},
            {},
            {"response": "x" * (2 * 1024 * 1024)},
            flow.me,
        ),  # 413: over the body limit
    ]
    schema = schemathesis.openapi.from_dict(document)
    for method, template, params, query, body, headers in cases:
        path = template.format(**params)
        response = await api.http.request(method, path, params=query, json=body, headers=headers)
        assert response.status_code in (401, 403, 404, 409, 413), (method, path, response.text)
        case = schema[template][method].Case(path_parameters=params, query=query)
        case.validate_response(response, checks=CHECKS)  # its status, content type and body documented


async def test_a_database_that_does_not_answer_is_503_with_retry_after(ts_env: WorkflowEnvironment) -> None:
    """Found by ``make chaos``: while PostgreSQL restarted, reads answered 500."""
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/microcred")
    try:
        async with serving(ts_env.client, make_session_factory(engine)) as api:
            member = api.auth("member", "member-db-down")
            answer = await api.http.get("/api/v1/me/learning", headers=member)
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"]["code"] == "unavailable"
            assert answer.headers["Retry-After"] == "5"
            operation = (await api.http.get("/openapi.json")).json()["paths"]["/api/v1/me/learning"]["get"]
            assert "503" in operation["responses"]
    finally:
        engine.dispose()
