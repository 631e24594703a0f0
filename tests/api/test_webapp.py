"""The web app served at /: its pages (deep links included) answer index.html, the API keeps its
JSON errors, assets are cached for good, and the dev sign-in page does not exist in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api import openapi
from api.deps import AppState
from api.headers import SECURITY_HEADERS
from api.main import create_app
from microcred import signing_keys
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import SessionFactory
from tests.support import test_settings

INDEX = "<!doctype html><title>microcred</title><div id=root></div>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A stand-in for frontend/dist: what the app's build writes."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


async def client(settings: Settings, sessions: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    state = AppState(
        settings=settings,
        sessions=sessions,
        workflows=None,  # type: ignore[arg-type]  # no route here reaches Temporal
        verifier=TokenVerifier(secret="s" * 40, jwks_url=None),
        issuer=BadgeIssuer.from_settings(settings),
    )
    app = create_app(state=state)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield http


@pytest.fixture
async def http(built: Path, own_sqlite: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client(test_settings(auth_secret="s" * 40, web_dir=built), own_sqlite):
        yield c


@pytest.mark.parametrize(
    "path", ["/", "/learning", "/learning/abc123?checkout=complete", "/sign-in/dev", "/x/y"]
)
async def test_every_page_path_answers_the_app(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200 and response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"


async def test_assets_are_cached_for_good_and_missing_ones_are_404(http: httpx.AsyncClient) -> None:
    asset = await http.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert (await http.get("/assets/index-gone.js")).status_code == 404
    assert (await http.get("/favicon.svg")).text == "<svg/>"


async def test_the_api_keeps_its_json_errors(http: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/api/v1/nowhere"), ("POST", "/learning"), ("GET", "/.well-known/nothing")):
        response = await http.request(method, path)
        assert response.headers["content-type"] == "application/json", (method, path)
        assert response.json()["detail"]["code"] in ("not_found", "method_not_allowed")
    assert (await http.get("/healthz")).json() == {"status": "ok"}


def production(web_dir: Path, key: Path, **overrides: object) -> Settings:
    signing_keys.dev_key(key)
    return Settings.model_validate(
        {
            "environment": "production",
            "auth_secret": "p" * 40,
            "stripe_webhook_secret": "whsec_" + "p" * 30,
            "badge_signing_key": str(key),
            "offline_payments": True,
            "web_dir": web_dir,
            **overrides,
        }
    )


async def test_production_has_no_dev_sign_in_page(
    built: Path, own_sqlite: SessionFactory, tmp_path: Path
) -> None:
    settings = production(built, tmp_path / "badge-key.pem")
    async for http in client(settings, own_sqlite):
        assert (await http.get("/sign-in/dev?sub=x&role=admin")).status_code == 404
        assert (await http.get("/learning")).text == INDEX


async def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path, own_sqlite: SessionFactory) -> None:
    async for http in client(test_settings(auth_secret="s" * 40, web_dir=tmp_path), own_sqlite):
        response = await http.get("/")
        assert response.status_code == 503 and "make web" in response.text


async def test_cross_origin_clients_only_when_configured(built: Path, own_sqlite: SessionFactory) -> None:
    preflight = {"origin": "https://partner.example", "access-control-request-method": "GET"}
    async for http in client(test_settings(auth_secret="s" * 40, web_dir=built), own_sqlite):
        response = await http.options("/api/v1/credentials", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    allowed = test_settings(auth_secret="s" * 40, web_dir=built, cors_origins="https://partner.example")
    async for http in client(allowed, own_sqlite):
        response = await http.options("/api/v1/credentials", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://partner.example"


DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


async def test_the_api_docs_are_served_in_dev_and_test(http: httpx.AsyncClient) -> None:
    for path in DOCS:
        assert (await http.get(path, headers={"accept": "text/html"})).status_code == 200, path
    assert "/api/v1/me/learning" in (await http.get("/openapi.json")).json()["paths"]


async def test_production_serves_no_api_docs_unless_asked(
    built: Path, own_sqlite: SessionFactory, tmp_path: Path
) -> None:
    settings = production(built, tmp_path / "badge-key.pem")
    async for http in client(settings, own_sqlite):
        for path in DOCS:  # a JSON 404: neither the docs nor the web app's page
            response = await http.get(path, headers={"accept": "text/html"})
            assert response.status_code == 404, path
            assert response.json()["detail"]["code"] == "not_found", path
    # The document is still built in-process, in any environment (make client, api.openapi).
    assert "/api/v1/me/learning" in create_app(settings).openapi()["paths"]
    asked = production(built, tmp_path / "badge-key.pem", api_docs=True)
    async for http in client(asked, own_sqlite):
        for path in DOCS:
            assert (await http.get(path)).status_code == 200, path


def test_the_client_s_document_ignores_this_machine_s_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROCRED_ENVIRONMENT", "production")
    monkeypatch.setenv("MICROCRED_API_DOCS", "false")
    assert "/api/v1/auth/dev-token" in openapi.document()["paths"]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/", "text/html"),
        ("/learning/abc123", "text/html"),
        ("/assets/index-abc123.js", "*/*"),
        ("/favicon.svg", "*/*"),
        ("/api/v1/checkout/cancelled", "text/html"),  # a server-rendered page
        ("/docs", "text/html"),
        ("/api/v1/auth/config", "application/json"),
        ("/api/v1/nowhere", "application/json"),
    ],
)
async def test_every_response_forbids_framing_and_sniffing(
    http: httpx.AsyncClient, path: str, accept: str
) -> None:
    response = await http.get(path, headers={"accept": accept})
    assert response.status_code in (200, 404), response.text
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
