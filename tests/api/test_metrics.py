"""The API's /metrics after a lifecycle: request counts and latency by route template."""

from __future__ import annotations

import logging
import re

import pytest

from tests.api.conftest import Flow


async def test_request_metrics_by_route_template(flow: Flow) -> None:
    await flow.submitted()
    text = (await flow.api.http.get("/metrics")).text
    submit = re.search(
        r'microcred_http_requests_total\{method="POST",route="/api/v1/enrolments/\{enrolment_id\}/submit",'
        r'status="200"\} (\d+)',
        text,
    )
    assert submit and int(float(submit.group(1))) == 1
    saves = re.search(
        r'microcred_http_requests_total\{method="PUT",route="/api/v1/enrolments/\{enrolment_id\}/tasks/\{task_id\}",'
        r'status="200"\} ([\d.]+)',
        text,
    )
    assert saves and float(saves.group(1)) == 2
    assert (
        'microcred_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/enrolments"'
        in text
    )
    assert flow.enrolment_id not in text  # ids never become label values


async def test_each_request_is_logged_readably_and_with_its_fields(
    flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    await flow.buy()
    with caplog.at_level(logging.INFO, logger="microcred.api"):
        assert (await flow.save("plan-1")).status_code == 409  # not paid yet
    [record] = [r for r in caplog.records if r.name == "microcred.api"]
    route = "/api/v1/enrolments/{enrolment_id}/tasks/{task_id}"
    assert re.fullmatch(rf"PUT {re.escape(route)} 409 \d+\.\d ms", record.getMessage())
    fields = {k: getattr(record, k) for k in ("method", "route", "status", "enrolment_id")}
    assert fields == {"method": "PUT", "route": route, "status": 409, "enrolment_id": flow.enrolment_id}
