"""Submitted files are frozen: immutable, kept across a resubmission, seen by the right people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from microcred.db import SessionFactory
from microcred.models import Attachment
from microcred.services import evidence as files
from microcred.storage import ObjectStore, attachment_key
from microcred.temporal.names import enrolment_workflow_id
from tests.evidence.conftest import EvidenceFlow, evidence_doc, serving_evidence
from tests.evidence.files import big_pdf, pdf, png, sha256
from tests.support import uid


async def _attempts(flow: EvidenceFlow, headers: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    response = await flow.api.http.get(flow.url("/attempts"), headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_submitted_files_are_immutable_and_outlive_a_resubmission(eflow: EvidenceFlow) -> None:
    first = pdf(b"attempt one")
    created = (await eflow.declare("plan-1", first)).json()
    await eflow.send_plan(created, first)
    kept = (await eflow.complete("plan-1", created["id"])).json()
    await eflow.attach("reflect-1", png(), content_type="image/png", filename="work.png")
    assert (await eflow.submit()).status_code == 200
    await eflow.assigned()

    # Nothing can be added, removed or overwritten now.
    late = await eflow.declare("plan-1", pdf(b"late"))
    assert late.status_code == 409 and late.json()["detail"]["code"] == "not_editable"
    removal = await eflow.api.http.delete(eflow.files("plan-1", f"/{kept['id']}"), headers=eflow.me)
    assert removal.status_code == 409 and removal.json()["detail"]["code"] == "not_editable"
    overwrite = await eflow.eapi.send(created["upload"], pdf(b"swapped after submitting"))
    assert overwrite.status_code == 412, overwrite.text  # the signed URL still works, but never overwrites

    # The evaluator asks for a resubmission of the plan only.
    assert (await eflow.decide("resubmit", unmet=("plan-c",))).status_code == 200
    started = await eflow.api.http.post(eflow.url("/resubmission"), headers=eflow.me)
    assert started.status_code == 201, started.text
    await eflow.api.pay(started.json()["checkout_session_id"])
    detail = await eflow.api.http.get(eflow.url(), headers=eflow.me)
    tasks = {t["id"]: t for s in detail.json()["sections"] for t in s["tasks"]}
    assert [a["id"] for a in tasks["plan-1"]["attachments"]] == [kept["id"]]  # the earlier file stays

    # Only the failed section's tasks take or lose files.
    passed = await eflow.declare("reflect-1", png(), content_type="image/png", filename="more.png")
    assert passed.status_code == 409 and passed.json()["detail"]["code"] == "not_editable"
    removal = await eflow.api.http.delete(eflow.files("plan-1", f"/{kept['id']}"), headers=eflow.me)
    assert removal.status_code == 204, removal.text
    second = pdf(b"attempt two")
    await eflow.attach("plan-1", second)
    assert (await eflow.submit()).status_code == 200
    await eflow.assigned()

    one, two = await _attempts(eflow, eflow.me)
    frozen_one = one["tasks"][0]["attachments"]
    frozen_two = two["tasks"][0]["attachments"]
    assert [a["sha256"] for a in frozen_one] == [sha256(first)]
    assert [a["sha256"] for a in frozen_two] == [sha256(second)]
    # Attempt 1's file was removed from the task, yet its submission still serves the same bytes.
    assert (await eflow.eapi.fetch(frozen_one[0]["download_url"])).content == first
    review = (
        await eflow.api.http.get(f"/api/v1/reviews/{eflow.enrolment_id}", headers=eflow.reviewer)
    ).json()
    assert (await eflow.eapi.fetch(review["tasks"][0]["attachments"][0]["download_url"])).content == second

    # The sweep takes removed files, but never one a submission holds.
    assert eflow.eapi.evidence is not None
    later = datetime.now(UTC) + eflow.eapi.evidence.stale_after + timedelta(days=1)
    files.sweep_stale(eflow.api.sessions, evidence=eflow.eapi.evidence, now=later)
    assert (await eflow.eapi.fetch(frozen_one[0]["download_url"])).content == first


async def test_who_may_see_the_files(eflow: EvidenceFlow) -> None:
    data = pdf(b"private")
    attachment = await eflow.attach("plan-1", data)
    await eflow.attach("reflect-1", png(), content_type="image/png", filename="w.png")
    path = eflow.files("plan-1", f"/{attachment['id']}")
    api = eflow.api
    stranger = api.auth("member", uid("member"))
    assert (await api.http.get(path, headers=stranger)).status_code == 404
    assert (await api.http.delete(path, headers=stranger)).status_code == 404
    assert (
        await api.http.post(
            eflow.files("plan-1"),
            json={"filename": "a.pdf", "content_type": "application/pdf", "size": 5, "sha256": "0" * 64},
            headers=stranger,
        )
    ).status_code == 404
    assert (await api.http.get(path, headers=api.auth("evaluator", eflow.evaluator))).status_code == 403
    admin = await api.http.get(path, headers=api.admin())
    assert admin.status_code == 200 and (await eflow.eapi.fetch(admin.json()["download_url"])).content == data

    assert (await eflow.submit()).status_code == 200
    await eflow.assigned()
    other = await api.evaluator([eflow.credential["id"]])
    review = f"/api/v1/reviews/{eflow.enrolment_id}"
    assert (await api.http.get(review, headers=api.auth("evaluator", other))).status_code == 404
    assert (await api.http.get(review + "/attempts", headers=api.auth("evaluator", other))).status_code == 404
    desk = await api.http.get(f"/api/v1/admin/enrolments/{eflow.enrolment_id}", headers=api.admin())
    assert desk.status_code == 200, desk.text
    tasks = {t["id"]: t for s in desk.json()["sections"] for t in s["tasks"]}
    assert (await eflow.eapi.fetch(tasks["plan-1"]["attachments"][0]["download_url"])).content == data
    (attempt,) = await _attempts(eflow, api.admin())
    assert attempt["tasks"][0]["attachments"][0]["download_url"]


async def test_a_signed_url_cannot_be_forged_or_widened(eflow: EvidenceFlow) -> None:
    data = pdf(b"signed")
    attachment = await eflow.attach("plan-1", data)
    url = attachment["download_url"]
    if not url.startswith("http://testserver/"):
        return  # the S3 server's own signatures (moto does not check them; S3 and MinIO do)
    signature = url.rsplit(".", 1)[1]
    forged = url.replace(signature, signature[::-1])
    assert (await eflow.eapi.fetch(forged)).status_code == 403
    put = await eflow.eapi.send({"method": "PUT", "url": url, "headers": {}}, b"x")
    assert put.status_code == 403  # a download URL uploads nothing


async def test_quota_per_enrolment(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, store: ObjectStore
) -> None:
    async for api in serving_evidence(ts_env, own_sqlite, store, quota_bytes=1500):
        response = await api.http.post("/api/v1/credentials", json=evidence_doc(), headers=api.admin())
        evaluator = await api.evaluator([response.json()["id"]])
        flow = EvidenceFlow(api=api, credential=response.json(), member=uid("member"), evaluator=evaluator)
        await flow.paid()
        first = pdf(b"x" * 300)
        await flow.attach("plan-1", first)
        over = await flow.declare("reflect-1", pdf(b"y" * (1500 - 2 * len(first) + 400)))
        assert over.status_code == 413, over.text
        detail = over.json()["detail"]
        assert detail["code"] == "evidence_quota_exceeded" and detail["limit"] == 1500
        assert "1500 bytes" in detail["message"] and detail["used"] == len(first)


async def test_history_holds_ids_and_hashes_never_bytes(eflow: EvidenceFlow) -> None:
    marker = uid("secret-bytes").encode()
    data = big_pdf(300_000)[: -len(marker)] + marker
    attachment = await eflow.attach("plan-1", data)
    assert (await eflow.save("reflect-1", "words are fine too")).status_code == 200
    assert (await eflow.submit()).status_code == 200
    await eflow.assigned()
    client: Client = eflow.api.run.client
    history = await client.get_workflow_handle(enrolment_workflow_id(eflow.enrolment_id)).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)  # payloads as stored
    assert attachment["id"].encode() in raw and sha256(data).encode() in raw  # it saw the id and hash
    assert marker not in raw and len(raw) < 100_000  # and none of the file's 300 kB


async def test_uploads_never_completed_are_swept_after_a_day(eflow: EvidenceFlow) -> None:
    api = eflow.eapi
    assert api.evidence is not None and api.store is not None
    small, large = pdf(b"abandoned"), big_pdf(api.evidence.part_bytes + 10)
    single = (await eflow.declare("plan-1", small)).json()
    await eflow.send_plan(single, small)  # sent, never completed
    multi = (await eflow.declare("reflect-1", large)).json()
    await eflow.send_plan(multi, large, only={1})
    kept = await eflow.attach("plan-1", pdf(b"kept"))
    with api.sessions() as session:
        row = session.get(Attachment, multi["id"])
        assert row is not None and row.upload_id is not None
        upload_id = row.upload_id

    now = datetime.now(UTC)
    assert files.sweep_stale(api.sessions, evidence=api.evidence, now=now) == 0  # not a day old yet
    assert files.sweep_stale(api.sessions, evidence=api.evidence, now=now + timedelta(days=1, minutes=1)) == 2
    assert api.store.read(attachment_key(eflow.enrolment_id, single["id"])) is None
    assert (
        api.store.uploaded_parts(attachment_key(eflow.enrolment_id, multi["id"]), upload_id=upload_id) == []
    )
    for swept in (single["id"], multi["id"]):
        assert (await api.http.get(eflow.files("plan-1", f"/{swept}"), headers=eflow.me)).status_code == 404
    still = await api.http.get(eflow.files("plan-1", f"/{kept['id']}"), headers=eflow.me)
    assert still.status_code == 200 and (await api.fetch(still.json()["download_url"])).content == pdf(
        b"kept"
    )
