"""The evidence contract on both stores: the data folder, and S3 through a real S3 API server
(moto's, in server mode: presigned URLs and multipart uploads over HTTP, offline)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer
from temporalio.testing import WorkflowEnvironment

from api.deps import AppState
from api.main import create_app
from microcred.auth import TokenVerifier
from microcred.badges import BadgeIssuer
from microcred.config import MIB
from microcred.db import SessionFactory
from microcred.services.evidence import Evidence
from microcred.storage import ObjectStore
from microcred.storage.local import LocalStore
from microcred.storage.s3 import S3Store
from tests.api.conftest import SECRET, Api, Flow
from tests.evidence.files import sha256
from tests.support import API_BASE, credential_doc, running_worker, test_settings, uid

PART = 5 * MIB  # S3's smallest part: a three-part upload is 10 MiB and a bit
EVIDENCE_TYPES = ["application/pdf", "image/*"]
EVIDENCE = {"accept": EVIDENCE_TYPES, "max_files": 2, "max_bytes": 12 * MIB}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_store(endpoint: str) -> S3Store:
    """A bucket of its own on the S3 API server."""
    settings = test_settings(
        s3_bucket=uid("evidence").lower(),
        s3_endpoint_url=endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test-secret",
    )
    store = S3Store.from_settings(settings)
    store._client.create_bucket(Bucket=store.bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "s3":
        return s3_store(request.getfixturevalue("s3_endpoint"))
    return LocalStore(tmp_path / "evidence", secret=SECRET, base_url=f"{API_BASE}/storage")


@dataclass
class EvidenceApi(Api):
    evidence: Evidence | None = None
    outside: httpx.AsyncClient | None = None  # for URLs outside the API (the S3 server)

    async def send(self, request: dict[str, Any], body: bytes) -> httpx.Response:
        """Send bytes as the client would: the signed request's method, URL and headers."""
        client = self.http if request["url"].startswith("http://testserver/") else self.outside
        assert client is not None
        return await client.request(
            request["method"], request["url"], content=body, headers=request["headers"]
        )

    async def fetch(self, url: str) -> httpx.Response:
        client = self.http if url.startswith("http://testserver/") else self.outside
        assert client is not None
        return await client.get(url)


async def serving_evidence(
    env: WorkflowEnvironment, sessions: SessionFactory, store: ObjectStore, **overrides: Any
) -> AsyncIterator[EvidenceApi]:
    settings = test_settings(auth_secret=SECRET)
    evidence = dataclasses.replace(
        Evidence.from_settings(settings, store=store), **({"part_bytes": PART} | overrides)
    )
    async with running_worker(env.client, sessions) as run:
        state = AppState(
            settings=settings,
            sessions=sessions,
            workflows=run.workflows,
            verifier=TokenVerifier(secret=SECRET, jwks_url=None),
            issuer=BadgeIssuer.from_settings(settings),
            evidence=evidence,
        )
        app = create_app(state=state)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
            httpx.AsyncClient(timeout=60) as outside,
        ):
            yield EvidenceApi(
                http=http, run=run, sessions=sessions, store=store, evidence=evidence, outside=outside
            )


@pytest.fixture
async def eapi(
    ts_env: WorkflowEnvironment, own_sqlite: SessionFactory, store: ObjectStore
) -> AsyncIterator[EvidenceApi]:
    async for api in serving_evidence(ts_env, own_sqlite, store):
        yield api


def evidence_doc(**evidence: Any) -> dict[str, Any]:
    """The test credential with files on plan-1 and reflect-1 (plan-2 takes text only); reflect-1
    also names SVG, which no family wildcard takes."""
    doc = credential_doc().model_dump(mode="json")
    rules = EVIDENCE | evidence
    doc["sections"][0]["tasks"][0]["evidence"] = rules
    accept = list(evidence.get("accept", EVIDENCE_TYPES))
    doc["sections"][1]["tasks"][0]["evidence"] = rules | {"accept": [*accept, "image/svg+xml"]}
    return doc


@dataclass
class EvidenceFlow(Flow):
    def files(self, task_id: str, suffix: str = "") -> str:
        return self.url(f"/tasks/{task_id}/attachments{suffix}")

    @property
    def eapi(self) -> EvidenceApi:
        assert isinstance(self.api, EvidenceApi)
        return self.api

    async def declare(
        self,
        task_id: str,
        data: bytes,
        *,
        content_type: str = "application/pdf",
        filename: str = "plan.pdf",
        **body: Any,
    ) -> httpx.Response:
        declared = {
            "filename": filename,
            "content_type": content_type,
            "size": len(data),
            "sha256": sha256(data),
        }
        return await self.api.http.post(self.files(task_id), json=declared | body, headers=self.me)

    async def attach(self, task_id: str, data: bytes, **kw: Any) -> dict[str, Any]:
        """Declare, send, complete: the verified attachment."""
        created = await self.declare(task_id, data, **kw)
        assert created.status_code == 201, created.text
        plan = created.json()
        await self.send_plan(plan, data)
        done = await self.complete(task_id, plan["id"])
        assert done.status_code == 200, done.text
        return dict(done.json())

    async def send_plan(self, plan: dict[str, Any], data: bytes, only: set[int] | None = None) -> None:
        if plan["upload"] is not None:
            sent = await self.eapi.send(plan["upload"], data)
            assert sent.status_code == 200, sent.text
            return
        for part in plan["multipart"]["parts"]:
            if only is not None and part["number"] not in only:
                continue
            sent = await self.eapi.send(part, data[part["offset"] : part["offset"] + part["size"]])
            assert sent.status_code == 200, sent.text

    async def complete(self, task_id: str, attachment_id: str) -> httpx.Response:
        return await self.api.http.post(self.files(task_id, f"/{attachment_id}/complete"), headers=self.me)

    async def submit(self) -> httpx.Response:
        return await self.api.http.post(self.url("/submit"), json={"agree_terms": True}, headers=self.me)


@pytest.fixture
async def eflow(eapi: EvidenceApi) -> EvidenceFlow:
    response = await eapi.http.post("/api/v1/credentials", json=evidence_doc(), headers=eapi.admin())
    assert response.status_code == 201, response.text
    credential = response.json()
    evaluator = await eapi.evaluator([credential["id"]])
    flow = EvidenceFlow(api=eapi, credential=credential, member=uid("member"), evaluator=evaluator)
    await flow.paid()
    return flow
