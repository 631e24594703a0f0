"""The badge routes over HTTP: JSON and the web page, verification, revocation, evidence, keys,
and the earner's choice to show their name."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from api.deps import prefers_html
from microcred.db import transaction
from microcred.documents import CredentialDoc
from microcred.identity import Role
from microcred.models import Member
from tests.badges.conftest import BadgeApi
from tests.support import credential_doc

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def link(page: str, text: str) -> str:
    """The href of the link whose text is ``text``."""
    found = re.search(r'<a [^>]*href="([^"]*)"[^>]*>\s*' + re.escape(text), page)
    assert found, f"no link {text!r}"
    return html.unescape(found.group(1))


async def test_the_badge_as_json(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    response = await badge_api.http.get(f"/api/v1/badges/{badge_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "Accept" in response.headers["vary"]
    body = response.json()
    assert set(body) == {
        "id",
        "credential",
        "jwt",
        "show_name",
        "earner_name",
        "show_evidence",
        "linkedin_url",
    }
    assert (body["show_name"], body["earner_name"]) == (False, None)  # private until the member chooses
    assert body["show_evidence"] is False
    linkedin = urlsplit(body["linkedin_url"])
    query = parse_qs(linkedin.query)
    assert (linkedin.netloc, query["certId"], query["name"]) == (
        "www.linkedin.com",
        [badge_id],
        [approved.credential.title],
    )
    assert body["id"] == badge_id
    assert body["credential"]["id"] == f"urn:uuid:{badge_id}"
    assert body["credential"]["credentialSubject"]["achievement"]["name"] == approved.credential.title
    keys = (await badge_api.http.get("/.well-known/jwks.json")).json()
    token = jose_jwt.decode(body["jwt"], KeySet.import_key_set(keys), algorithms=["RS256"])
    assert {k: v for k, v in token.claims.items() if k not in ("iss", "jti", "nbf")} == body["credential"]


async def test_a_browser_gets_the_badge_page(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    response = await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    # A page anyone can open: no other site may frame it (tests/api/test_webapp.py has them all).
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert f"<h1>{approved.credential.title}</h1>" in page
    assert "microcred" in page
    assert approved.decided_at.strftime("%d %B %Y") in page
    assert 'data-valid="true"' in page and "Verified." in page
    assert "Coherent plan" in page and "A clear, well-sequenced plan." in page
    assert "The holder of the email address whose salted hash the credential carries." in page
    linkedin = urlsplit(link(page, "Add to LinkedIn profile"))
    assert (linkedin.scheme, linkedin.netloc, linkedin.path) == ("https", "www.linkedin.com", "/profile/add")
    query = {k: v[0] for k, v in parse_qs(linkedin.query).items()}
    assert query == {
        "startTask": "CERTIFICATION_NAME",
        "name": approved.credential.title,
        "organizationName": "microcred",
        "issueYear": str(approved.decided_at.year),
        "issueMonth": str(approved.decided_at.month),
        "certUrl": f"http://testserver/api/v1/badges/{badge_id}",
        "certId": badge_id,
    }
    assert 'href="http://testserver/api/v1/badges/' + badge_id + '/evidence"' not in page  # private
    owner = badge_api.auth(Role.MEMBER, approved.member_id)
    shown = await badge_api.http.put(
        f"/api/v1/badges/{badge_id}/display", json={"show_evidence": True}, headers=owner
    )
    assert shown.status_code == 200
    page = (await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": BROWSER})).text
    assert link(page, "Evidence") == f"http://testserver/api/v1/badges/{badge_id}/evidence"


async def test_the_page_escapes_what_people_wrote(badge_api: BadgeApi) -> None:
    doc = credential_doc(title='<script>alert("t")</script> & co', summary="<img src=x onerror=alert(1)>")
    _, badge_id = badge_api.approved_badge(doc)
    page = (await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": "text/html"})).text
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; co" in page
    linkedin = parse_qs(urlsplit(link(page, "Add to LinkedIn profile")).query)
    assert linkedin["name"] == [doc.title]


async def test_the_criteria_markdown_is_rendered_and_stays_safe(badge_api: BadgeApi) -> None:
    data = credential_doc().model_dump(mode="json")
    data["sections"][0]["rubric"][0]["description"] = (
        "Sequenced. <script>alert(1)</script> See [x](javascript:alert(1)) and [y](VBScript:msgbox(1)).\n"
        "# A heading of the admin's own"
    )
    _, badge_id = badge_api.approved_badge(CredentialDoc.model_validate(data))
    page = (await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": BROWSER})).text
    assert "<strong>Plan</strong>" in page and "<strong>Reflect</strong>" in page
    assert re.search(r"<ul>\s*<li>Coherent plan: Sequenced\.", page)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page.lower() and 'href="vbscript:' not in page.lower()
    assert "[x](javascript:alert(1))" in page  # left as the text it was written as
    # The page keeps its one h1: headings in the Markdown sit below the Criteria heading.
    assert page.count("<h1") == 1
    assert "<h3>A heading of the admin's own</h3>" in page


async def test_the_earner_chooses_to_show_their_name(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    url = f"/api/v1/badges/{badge_id}"
    owner = badge_api.auth(Role.MEMBER, approved.member_id)
    before = (await badge_api.http.get(url)).json()
    page = (await badge_api.http.get(url, headers={"Accept": BROWSER})).text
    assert "The holder of the email address whose salted hash the credential carries." in page
    assert "Ada Lovelace" not in page

    shown = await badge_api.http.put(f"{url}/display", json={"show_name": True}, headers=owner)
    assert shown.status_code == 200
    assert shown.json() == {
        "badge_id": badge_id,
        "show_name": True,
        "name": "Ada Lovelace",
        "show_evidence": False,
    }
    page = (await badge_api.http.get(url, headers={"Accept": BROWSER})).text
    assert '<p class="earner">Awarded to Ada Lovelace</p>' in page
    assert "The credential identifies them by a salted hash of their email address." in page
    assert page.count("<h1") == 1
    after = (await badge_api.http.get(url)).json()
    assert (after["show_name"], after["earner_name"]) == (True, "Ada Lovelace")

    # Display only: the signed credential is byte for byte the one issued, and still verifies.
    assert after["jwt"] == before["jwt"] and after["credential"] == before["credential"]
    assert "Ada Lovelace" not in str(after["credential"])
    assert (await badge_api.http.get(f"{url}/verify")).json()["valid"] is True

    hidden = await badge_api.http.put(f"{url}/display", json={"show_name": False}, headers=owner)
    assert hidden.json() == {"badge_id": badge_id, "show_name": False, "name": None, "show_evidence": False}
    page = (await badge_api.http.get(url, headers={"Accept": BROWSER})).text
    assert "Ada Lovelace" not in page
    assert "The holder of the email address whose salted hash the credential carries." in page
    assert (await badge_api.http.get(url)).json()["jwt"] == before["jwt"]
    assert (await badge_api.http.get(f"{url}/verify")).json()["valid"] is True


async def test_a_name_never_given_is_not_shown(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    with transaction(badge_api.sessions) as session:
        member = session.get(Member, approved.member_id)
        assert member is not None
        member.name = None  # the token had no name claim
    owner = badge_api.auth(Role.MEMBER, approved.member_id)
    shown = await badge_api.http.put(
        f"/api/v1/badges/{badge_id}/display", json={"show_name": True}, headers=owner
    )
    assert shown.json() == {"badge_id": badge_id, "show_name": True, "name": None, "show_evidence": False}
    page = (await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": BROWSER})).text
    assert "The holder of the email address whose salted hash the credential carries." in page
    assert 'class="earner"' not in page


async def test_only_the_earner_sets_the_display(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    url = f"/api/v1/badges/{badge_id}/display"
    show = {"show_name": True}
    assert (await badge_api.http.put(url, json=show)).status_code == 401
    for role in (Role.EVALUATOR, Role.ADMIN):
        refused = await badge_api.http.put(url, json=show, headers=badge_api.auth(role, approved.member_id))
        assert refused.status_code == 403, role

    # Another member learns nothing: their answer is the one for a badge that does not exist.
    other = await badge_api.http.put(url, json=show, headers=badge_api.auth(Role.MEMBER))
    missing = await badge_api.http.put(
        "/api/v1/badges/no-such-badge/display", json=show, headers=badge_api.auth(Role.MEMBER)
    )
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"]["code"] == missing.json()["detail"]["code"] == "not_found"
    assert other.json()["detail"]["message"] == missing.json()["detail"]["message"]

    owner = badge_api.auth(Role.MEMBER, approved.member_id)
    for body in (
        {},
        {"show_name": "yes"},
        {"show_name": 1},
        {"show_name": None},
        {"show_name": True, "x": 1},
    ):
        assert (await badge_api.http.put(url, json=body, headers=owner)).status_code == 422, body

    public = (await badge_api.http.get(f"/api/v1/badges/{badge_id}")).json()
    assert (public["show_name"], public["earner_name"]) == (False, None)  # nothing above changed it


async def test_verification_over_http(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    response = await badge_api.http.get(f"/api/v1/badges/{badge_id}/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["reason"] is None
    assert body["issuer"] == {"id": "http://testserver/api/v1/issuer", "name": "microcred"}
    assert body["achievement"]["id"] == f"http://testserver/api/v1/credentials/{approved.credential.id}"
    assert body["achievement"]["name"] == approved.credential.title
    assert body["recipient"]["identityType"] == "emailAddress"
    assert body["recipient"]["identityHash"].startswith("sha256$")


async def test_admins_revoke_with_a_reason_and_verification_then_fails(badge_api: BadgeApi) -> None:
    _, badge_id = badge_api.approved_badge()
    url = f"/api/v1/badges/{badge_id}/revoke"
    assert (await badge_api.http.post(url, json={"reason": "x"})).status_code == 401
    as_member = await badge_api.http.post(url, json={"reason": "x"}, headers=badge_api.auth(Role.MEMBER))
    assert as_member.status_code == 403
    empty = await badge_api.http.post(url, json={"reason": ""}, headers=badge_api.auth(Role.ADMIN))
    assert empty.status_code == 422
    assert (await badge_api.http.get(f"/api/v1/badges/{badge_id}/verify")).json()["valid"] is True

    admin = badge_api.auth(Role.ADMIN, "admin-7")
    revoked = await badge_api.http.post(url, json={"reason": "Awarded in error"}, headers=admin)
    assert revoked.status_code == 200
    body = revoked.json()
    assert (body["id"], body["reason"], body["revoked_by"]) == (badge_id, "Awarded in error", "admin-7")
    again = await badge_api.http.post(url, json={"reason": "Second thoughts"}, headers=admin)
    assert again.json() == body  # the first revocation stands

    verified = (await badge_api.http.get(f"/api/v1/badges/{badge_id}/verify")).json()
    assert verified["valid"] is False
    assert "Awarded in error" in verified["reason"]
    assert verified["revoked_at"] is not None
    page = (await badge_api.http.get(f"/api/v1/badges/{badge_id}", headers={"Accept": BROWSER})).text
    assert 'data-valid="false"' in page and "Awarded in error" in page and ">Evidence<" not in page
    evidence = await badge_api.http.get(f"/api/v1/badges/{badge_id}/evidence")
    assert evidence.status_code == 404


async def test_the_evidence_is_private_until_the_earner_shows_it(badge_api: BadgeApi) -> None:
    """Issue 17, fault 8: the evidence page showed the member's whole submission to anyone."""
    approved, badge_id = badge_api.approved_badge()
    url, owner = f"/api/v1/badges/{badge_id}", badge_api.auth(Role.MEMBER, approved.member_id)
    private = await badge_api.http.get(f"{url}/evidence")
    assert private.status_code == 404 and "private" in private.json()["detail"]["message"]
    assert "My answer" not in private.text
    assert (await badge_api.http.get(f"{url}/verify")).json()["valid"] is True  # verifies either way

    other = badge_api.auth(Role.MEMBER)
    assert (
        await badge_api.http.put(f"{url}/display", json={"show_evidence": True}, headers=other)
    ).status_code == 404
    assert (await badge_api.http.get(f"{url}/evidence")).status_code == 404

    shown = await badge_api.http.put(f"{url}/display", json={"show_evidence": True}, headers=owner)
    assert (
        shown.json()["show_evidence"] is True and shown.json()["show_name"] is False
    )  # the other choice kept
    assert (await badge_api.http.get(f"{url}/evidence")).status_code == 200
    assert (await badge_api.http.get(f"{url}/verify")).json()["valid"] is True

    await badge_api.http.put(f"{url}/display", json={"show_evidence": False}, headers=owner)
    assert (await badge_api.http.get(f"{url}/evidence")).status_code == 404


async def test_the_evidence_is_the_approved_submission(badge_api: BadgeApi) -> None:
    approved, badge_id = badge_api.approved_badge()
    owner = badge_api.auth(Role.MEMBER, approved.member_id)
    await badge_api.http.put(
        f"/api/v1/badges/{badge_id}/display", json={"show_evidence": True}, headers=owner
    )
    response = await badge_api.http.get(f"/api/v1/badges/{badge_id}/evidence")
    assert response.status_code == 200
    body = response.json()
    assert (body["badge_id"], body["credential_id"], body["attempt"]) == (badge_id, approved.credential.id, 1)
    assert body["badge_url"] == f"http://testserver/api/v1/badges/{badge_id}"
    sections = {s["id"]: s for s in body["sections"]}
    assert list(sections) == ["plan", "reflect"]
    tasks = {t["id"]: t for t in sections["plan"]["tasks"]}
    assert tasks["plan-1"] == {
        "id": "plan-1",
        "prompt": "Describe the unit.",
        "response": "My answer to plan-1.",
    }
    assert tasks["plan-2"]["response"] is None  # optional and left unanswered
    assert sections["plan"]["rubric"] == [
        {
            "criterion_id": "plan-c",
            "title": "Coherent plan",
            "met": True,
            "comment": "A clear, well-sequenced plan.",
        }
    ]


async def test_the_jwks_and_the_issuer_profile(badge_api: BadgeApi) -> None:
    badge_api.approved_badge()
    keys = (await badge_api.http.get("/.well-known/jwks.json")).json()["keys"]
    ours = [k for k in keys if k["kid"] == badge_api.issuer.kid]
    assert ours == [badge_api.issuer.jwk]
    assert all(set(k) == {"kty", "n", "e", "kid", "alg", "use"} for k in keys)
    profile = (await badge_api.http.get("/api/v1/issuer")).json()
    assert profile == {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "http://testserver/api/v1/issuer",
        "type": ["Profile"],
        "name": "microcred",
        "url": "http://testserver",
    }


@pytest.mark.parametrize("suffix", ["", "/verify", "/evidence"])
async def test_unknown_badges_are_not_found(badge_api: BadgeApi, suffix: str) -> None:
    response = await badge_api.http.get(f"/api/v1/badges/no-such-badge{suffix}")
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "not_found"
    revoke = await badge_api.http.post(
        "/api/v1/badges/no-such-badge/revoke", json={"reason": "x"}, headers=badge_api.auth(Role.ADMIN)
    )
    assert revoke.status_code == 404


async def test_openapi_describes_the_badge_routes(badge_api: BadgeApi) -> None:
    spec = (await badge_api.http.get("/openapi.json")).json()
    paths = spec["paths"]
    badge = paths["/api/v1/badges/{badge_id}"]["get"]["responses"]["200"]["content"]
    assert badge["application/json"]["schema"]["$ref"].endswith("/BadgePublic")
    assert "text/html" in badge
    for path, method, model in [
        ("/api/v1/badges/{badge_id}/verify", "get", "VerificationPublic"),
        ("/api/v1/badges/{badge_id}/revoke", "post", "RevocationPublic"),
        ("/api/v1/badges/{badge_id}/evidence", "get", "EvidencePublic"),
        ("/api/v1/badges/{badge_id}/display", "put", "BadgeDisplay"),
        ("/api/v1/issuer", "get", "ProfilePublic"),
        ("/.well-known/jwks.json", "get", "JwksPublic"),
    ]:
        schema = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{model}"), path
    assert "404" in paths["/api/v1/badges/{badge_id}/verify"]["get"]["responses"]


@pytest.mark.parametrize(
    "accept, html_wanted",
    [
        (BROWSER, True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.9", False),
        ("text/html;q=0.5, application/json;q=0.4", True),
        ("text/*, application/json;q=0.1", True),
        ("text/html;q=bogus, application/json", False),
    ],
)
def test_content_negotiation(accept: str, html_wanted: bool) -> None:
    assert prefers_html(accept) is html_wanted
