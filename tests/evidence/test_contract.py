"""The evidence contract end to end, on both stores: declare, send, complete, read, remove,
submit, review; the refusals and the limits."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.evidence.conftest import PART, EvidenceFlow
from tests.evidence.files import big_pdf, pdf, png, sha256


async def test_a_pdf_and_an_image_from_upload_to_the_evaluator(eflow: EvidenceFlow) -> None:
    plan, photo = pdf(b"lesson plan"), png()
    created = await eflow.declare("plan-1", plan)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["upload"]["method"] == "PUT" and body["multipart"] is None and body["expires_at"]
    assert (await eflow.eapi.send(body["upload"], plan)).status_code == 200
    done = await eflow.complete("plan-1", body["id"])
    assert done.status_code == 200, done.text
    attachment = done.json()
    assert attachment["id"] == body["id"] and attachment["sha256"] == sha256(plan)
    assert (attachment["size"], attachment["content_type"], attachment["status"]) == (
        len(plan),
        "application/pdf",
        "complete",
    )
    assert attachment["uploaded_at"] is not None
    image = await eflow.attach("reflect-1", photo, content_type="image/png", filename="work.png")

    got = await eflow.api.http.get(eflow.files("plan-1", f"/{body['id']}"), headers=eflow.me)
    assert got.status_code == 200 and (await eflow.eapi.fetch(got.json()["download_url"])).content == plan
    detail = (await eflow.api.http.get(eflow.url(), headers=eflow.me)).json()
    tasks = {t["id"]: t for s in detail["sections"] for t in s["tasks"]}
    assert [a["id"] for a in tasks["plan-1"]["attachments"]] == [body["id"]]
    assert tasks["plan-1"]["evidence"]["max_files"] == 2 and tasks["plan-2"]["evidence"] is None
    assert (await eflow.eapi.fetch(tasks["reflect-1"]["attachments"][0]["download_url"])).content == photo

    # Files answer a required task: plan-1 and reflect-1 hold files and no text.
    assert (await eflow.submit()).status_code == 200
    await eflow.assigned()
    review = await eflow.api.http.get(f"/api/v1/reviews/{eflow.enrolment_id}", headers=eflow.reviewer)
    assert review.status_code == 200, review.text
    submitted = {t["task_id"]: t for t in review.json()["tasks"]}
    frozen = submitted["plan-1"]["attachments"][0]
    assert {k: frozen[k] for k in ("id", "filename", "content_type", "size", "sha256")} == {
        "id": body["id"],
        "filename": "plan.pdf",
        "content_type": "application/pdf",
        "size": len(plan),
        "sha256": sha256(plan),
    }
    assert (await eflow.eapi.fetch(frozen["download_url"])).content == plan
    assert (await eflow.eapi.fetch(submitted["reflect-1"]["attachments"][0]["download_url"])).content == photo
    assert submitted["reflect-1"]["attachments"][0]["id"] == image["id"]


async def test_refusals_delete_the_stored_bytes(eflow: EvidenceFlow) -> None:
    data = pdf(b"real")
    # The declared hash is not the bytes': evidence_mismatch, and the object is gone.
    created = (await eflow.declare("plan-1", data, sha256=sha256(b"other"))).json()
    await eflow.send_plan(created, data)
    refused = await eflow.complete("plan-1", created["id"])
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "evidence_mismatch"
    assert (
        eflow.eapi.store is not None
        and eflow.eapi.store.read(f"evidence/{eflow.enrolment_id}/{created['id']}") is None
    )
    gone = await eflow.api.http.get(eflow.files("plan-1", f"/{created['id']}"), headers=eflow.me)
    assert gone.status_code == 404

    # A PDF declared as a PNG: the content decides, evidence_type_refused.
    created = (await eflow.declare("plan-1", data, content_type="image/png", filename="x.png")).json()
    await eflow.send_plan(created, data)
    refused = await eflow.complete("plan-1", created["id"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"]["code"] == "evidence_type_refused"
    assert "application/pdf" in refused.json()["detail"]["message"]
    assert eflow.eapi.store.read(f"evidence/{eflow.enrolment_id}/{created['id']}") is None

    # Text that claims to be a PDF: no known magic number.
    text = b"just some words, no PDF at all"
    created = (await eflow.declare("plan-1", text)).json()
    await eflow.send_plan(created, text)
    refused = await eflow.complete("plan-1", created["id"])
    assert refused.json()["detail"]["code"] == "evidence_type_refused"

    # A type the task does not take, and a task that takes no files.
    zipped = await eflow.declare("plan-1", data, content_type="application/zip", filename="a.zip")
    assert zipped.status_code == 422 and zipped.json()["detail"]["code"] == "evidence_type_refused"
    text_only = await eflow.declare("plan-2", data)
    assert text_only.status_code == 422 and text_only.json()["detail"]["code"] == "evidence_not_accepted"
    # Completing before the bytes arrived.
    created = (await eflow.declare("plan-1", data)).json()
    early = await eflow.complete("plan-1", created["id"])
    assert early.status_code == 422 and early.json()["detail"]["code"] == "upload_incomplete"


async def test_limits_name_the_limit(eflow: EvidenceFlow) -> None:
    too_big = await eflow.api.http.post(
        eflow.files("plan-1"),
        json={
            "filename": "big.pdf",
            "content_type": "application/pdf",
            "size": 12 * 1024 * 1024 + 1,
            "sha256": "a" * 64,
        },
        headers=eflow.me,
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["detail"]["code"] == "evidence_too_large"
    assert (
        "12.0 MiB" in too_big.json()["detail"]["message"]
        and too_big.json()["detail"]["limit"] == 12 * 1024 * 1024
    )

    await eflow.attach("plan-1", pdf(b"one"))
    await eflow.attach("plan-1", pdf(b"two"))
    third = await eflow.declare("plan-1", pdf(b"three"))
    assert third.status_code == 422 and third.json()["detail"]["code"] == "evidence_too_many"
    assert "at most 2 files" in third.json()["detail"]["message"]


async def test_a_large_file_resumes_after_a_dropped_connection(eflow: EvidenceFlow) -> None:
    data = big_pdf(2 * PART + 1234)  # three parts
    created = await eflow.declare("plan-1", data, filename="video-notes.pdf")
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["upload"] is None
    multipart = plan["multipart"]
    assert (multipart["part_size"], multipart["part_count"], multipart["received"]) == (PART, 3, [])
    assert [(p["number"], p["offset"], p["size"]) for p in multipart["parts"]] == [
        (1, 0, PART),
        (2, PART, PART),
        (3, 2 * PART, 1234),
    ]
    await eflow.send_plan(plan, data, only={1, 3})  # then the connection drops

    early = await eflow.complete("plan-1", plan["id"])
    assert early.status_code == 422 and early.json()["detail"]["missing_parts"] == [2]
    resumed = await eflow.api.http.get(eflow.files("plan-1", f"/{plan['id']}/upload"), headers=eflow.me)
    assert resumed.status_code == 200, resumed.text
    rest = resumed.json()["multipart"]
    assert rest["received"] == [{"number": 1, "size": PART}, {"number": 3, "size": 1234}]
    assert [p["number"] for p in rest["parts"]] == [2]
    await eflow.send_plan(resumed.json(), data)

    done = await eflow.complete("plan-1", plan["id"])
    assert done.status_code == 200, done.text
    assert done.json()["sha256"] == sha256(data)
    assert (await eflow.eapi.fetch(done.json()["download_url"])).content == data
    again = await eflow.api.http.get(eflow.files("plan-1", f"/{plan['id']}/upload"), headers=eflow.me)
    assert again.status_code == 409


async def test_two_completions_at_once_both_keep_the_one_file(eflow: EvidenceFlow) -> None:
    """A double click, or a retry racing the first try: the parts are joined once, and both
    answers are the verified file (on the data folder the second join found the parts gone)."""
    data = big_pdf(2 * PART + 99)
    plan = (await eflow.declare("plan-1", data, filename="twice.pdf")).json()
    await eflow.send_plan(plan, data)
    first, second = await asyncio.gather(
        eflow.complete("plan-1", plan["id"]), eflow.complete("plan-1", plan["id"])
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json()["sha256"] == second.json()["sha256"] == sha256(data)
    assert (await eflow.eapi.fetch(first.json()["download_url"])).content == data


async def test_an_unfinished_upload_is_listed_until_completed_or_removed(eflow: EvidenceFlow) -> None:
    """A closed tab or a crash leaves a declared file that holds a place among the task's files:
    the enrolment lists it, so the member can carry on with it (or remove it) after a reload."""

    async def task() -> dict[str, Any]:
        view = (await eflow.api.http.get(eflow.url(), headers=eflow.me)).json()
        return next(t for s in view["sections"] for t in s["tasks"] if t["id"] == "plan-1")

    data = pdf(b"cut off")
    left = (await eflow.declare("plan-1", data, filename="cut-off.pdf")).json()
    dropped = (await eflow.declare("plan-1", pdf(b"dropped"), filename="dropped.pdf")).json()
    listed = (await task())["unfinished"]
    assert [(u["id"], u["filename"], u["size"]) for u in listed] == [
        (left["id"], "cut-off.pdf", len(data)),
        (dropped["id"], "dropped.pdf", len(pdf(b"dropped"))),
    ]
    # Both places are taken (max_files 2): a third file waits for one of them.
    assert (await eflow.declare("plan-1", pdf(b"third"))).json()["detail"]["code"] == "evidence_too_many"

    removed = await eflow.api.http.delete(eflow.files("plan-1", f"/{dropped['id']}"), headers=eflow.me)
    assert removed.status_code == 204, removed.text
    resumed = (
        await eflow.api.http.get(eflow.files("plan-1", f"/{left['id']}/upload"), headers=eflow.me)
    ).json()
    await eflow.send_plan(resumed, data)
    assert (await eflow.complete("plan-1", left["id"])).status_code == 200
    now = await task()
    assert now["unfinished"] == []
    assert [a["id"] for a in now["attachments"]] == [left["id"]]


async def test_declarations_at_once_never_take_more_places_than_the_task_has(eflow: EvidenceFlow) -> None:
    """Six declarations at once on a task that takes two files: the enrolment's lock lets
    exactly two through; the others are told the limit."""
    answers = await asyncio.gather(
        *(eflow.declare("plan-1", pdf(f"file {n}".encode()), filename=f"f{n}.pdf") for n in range(6))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 422, 422, 422, 422], [a.text for a in answers]
    refused = [a.json()["detail"] for a in answers if a.status_code == 422]
    assert {(d["code"], d["limit"]) for d in refused} == {("evidence_too_many", 2)}
