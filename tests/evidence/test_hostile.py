"""Evidence files against an attacker and an unlucky member: signed URLs used after their file
was refused or removed, URLs resumed late, tokens that are not ASCII, active content served back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from microcred.models import Attachment
from microcred.services import evidence as files
from microcred.storage import attachment_key
from microcred.storage.local import LocalStore
from tests.evidence.conftest import EvidenceFlow
from tests.evidence.files import pdf, png, sha256

# The data-folder store's own URLs: these tests run on it alone (S3 signs and serves its own).
data_folder_only = pytest.mark.parametrize("store", ["local"], indirect=True)


async def test_a_signed_upload_url_stores_nothing_lasting_after_a_refusal_or_a_removal(
    eflow: EvidenceFlow,
) -> None:
    """The URL still works until it expires (on S3 nobody can revoke it): what it sends after
    the file was refused or removed is swept, and the dead files count against no limit."""
    api = eflow.eapi
    assert api.evidence is not None and api.store is not None
    data = pdf(b"sent again")
    refused = (await eflow.declare("plan-1", data, sha256=sha256(b"not these bytes"))).json()
    await eflow.send_plan(refused, data)
    assert (await eflow.complete("plan-1", refused["id"])).json()["detail"]["code"] == "evidence_mismatch"
    removed = (await eflow.declare("plan-1", data)).json()
    gone = await api.http.delete(eflow.files("plan-1", f"/{removed['id']}"), headers=eflow.me)
    assert gone.status_code == 204

    # The same URLs, used again: the bytes land, for now.
    for plan in (refused, removed):
        assert (await api.send(plan["upload"], data)).status_code == 200
        assert api.store.read(attachment_key(eflow.enrolment_id, plan["id"])) is not None
        assert (await eflow.complete("plan-1", plan["id"])).status_code == 404
    # Neither dead file takes one of the task's two places.
    await eflow.attach("plan-1", pdf(b"one"))
    await eflow.attach("plan-1", pdf(b"two"))

    later = datetime.now(UTC) + api.evidence.stale_after + timedelta(minutes=1)
    assert files.sweep_stale(api.sessions, evidence=api.evidence, now=later) == 2
    for plan in (refused, removed):
        assert api.store.read(attachment_key(eflow.enrolment_id, plan["id"])) is None


async def test_upload_urls_never_outlive_the_sweep_of_their_upload(eflow: EvidenceFlow) -> None:
    """Resumed late, an upload gets URLs that expire when the sweep may take it; once stale, none."""
    api = eflow.eapi
    assert api.evidence is not None
    plan = (await eflow.declare("plan-1", pdf(b"late"))).json()
    created = datetime.now(UTC) - api.evidence.stale_after + timedelta(minutes=10)

    def made_at(when: datetime) -> None:
        with api.sessions() as session, session.begin():
            row = session.get(Attachment, plan["id"])
            assert row is not None
            row.created_at = when

    made_at(created)
    resumed = await api.http.get(eflow.files("plan-1", f"/{plan['id']}/upload"), headers=eflow.me)
    assert resumed.status_code == 200, resumed.text
    expires_at = datetime.fromisoformat(resumed.json()["expires_at"])
    assert expires_at <= created + api.evidence.stale_after  # not an hour from now

    made_at(created - timedelta(minutes=11))
    stale = await api.http.get(eflow.files("plan-1", f"/{plan['id']}/upload"), headers=eflow.me)
    assert stale.status_code == 409 and stale.json()["detail"]["code"] == "invalid_state"


@data_folder_only
async def test_a_token_that_is_not_ascii_is_refused_not_a_server_error(eflow: EvidenceFlow) -> None:
    assert isinstance(eflow.eapi.store, LocalStore)
    plan = (await eflow.declare("plan-1", pdf(b"x"))).json()
    url = plan["upload"]["url"]
    for bent in (url + "\u00e9", url[: url.rindex(".")] + ".\u00e9t\u00e9"):
        assert (await eflow.api.http.put(bent, content=b"x")).status_code == 403
        assert (await eflow.api.http.get(bent)).status_code == 403


@data_folder_only
async def test_a_download_from_the_data_folder_is_sandboxed(eflow: EvidenceFlow) -> None:
    """An SVG may carry a script: ``image/*`` does not take it (a task must name it), and where a
    task does, the API's origin serves it to be saved, as its declared type only, and in a
    sandbox should anything ever render it."""
    assert isinstance(eflow.eapi.store, LocalStore)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
    refused = await eflow.declare("plan-1", svg, content_type="image/svg+xml", filename="drawing.svg")
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "evidence_type_refused"
    attachment = await eflow.attach("reflect-1", svg, content_type="image/svg+xml", filename="drawing.svg")
    served = await eflow.eapi.fetch(attachment["download_url"])
    assert served.status_code == 200 and served.content == svg
    assert served.headers["content-type"] == "image/svg+xml"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    policy = served.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy


async def test_a_download_is_saved_under_a_name_of_its_verified_type(eflow: EvidenceFlow) -> None:
    """The bytes were checked, the name was not: a PNG carrying a script, named to be saved as
    a page (and to look like a picture, with a right-to-left override), is saved as a PNG."""
    image = png() + b"<html><script>alert(document.cookie)</script></html>"
    attachment = await eflow.attach("plan-1", image, content_type="image/png", filename="photo\u202egnp.html")
    assert attachment["filename"] == "photo\u202egnp.html"  # the member's name, as given
    served = await eflow.eapi.fetch(attachment["download_url"])
    assert served.status_code == 200 and served.content == image
    disposition = served.headers["content-disposition"]
    assert 'filename="photognp.html.png"' in disposition
    assert disposition.endswith("filename*=UTF-8''photognp.html.png")
