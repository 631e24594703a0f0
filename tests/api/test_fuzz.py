"""The whole HTTP API fuzzed from its own OpenAPI document (issue 17), on PostgreSQL.

For each role (anonymous, member, evaluator, admin) every operation gets a bounded number of
schemathesis examples: valid and invalid requests, some naming real seeded resources (a
published credential, an approved enrolment with its badge, one under review, one in progress,
an unpaid checkout). Every answer must be documented: no 5xx, a documented status, content
type and headers, a body that fits its schema. Forbidden text (C0 controls, lone surrogates) in
a path, query or JSON body must be refused with 422 ``invalid_text``, and very long text must
still get a documented answer.

The figures (requests per role, statuses, failures) are printed at the end of each test.
The suite's run is the same every time (``DEFAULT_SEED``): a gate must not fail on luck.
``MICROCRED_FUZZ_SEED=random`` explores (the seed is printed; set it to replay a run), and
``MICROCRED_FUZZ_EXAMPLES`` widens it: that is how the answers below were found.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from temporalio.testing import WorkflowEnvironment

from microcred.db import create_db_engine, make_session_factory
from tests.api.conftest import Api, Flow, eventually, eventually_status, serving
from tests.api.fuzz import ROLES, Fuzzer
from tests.conftest import migrated_postgres
from tests.support import uid

# Examples per operation and role: 48 operations x 4 roles x 6, over 1,000 requests a test, keeps
# the two tests near 20 s together on two cores (30 s when other work shares them).
EXAMPLES = int(os.environ.get("MICROCRED_FUZZ_EXAMPLES", "6"))
DEFAULT_SEED = 20261208
UNLIMITED = "100000/minute"  # the fuzz writes far faster than any person (429 has its own tests)

pytestmark = pytest.mark.postgres


@pytest.fixture
def fuzz_url() -> Iterator[str]:
    """A database of each test's own: the admin's generated writes are global by nature (an
    evaluator registered for every credential takes the next test's reviews, a retired credential
    is sold no more)."""
    with migrated_postgres("microcred_fuzz") as url:
        yield url


@dataclass
class Seeded:
    api: Api
    member: str
    evaluator: str
    ids: dict[str, list[str]]


@pytest.fixture
async def seeded(ts_env: WorkflowEnvironment, fuzz_url: str) -> AsyncIterator[Seeded]:
    engine = create_db_engine(fuzz_url)
    async with serving(
        ts_env.client, make_session_factory(engine), rate_limit_member=UNLIMITED, rate_limit_ip=UNLIMITED
    ) as api:
        yield await seed(api)
    engine.dispose()


async def seed(api: Api) -> Seeded:
    """Real resources for the generated requests to name: the member's approved enrolment (and its
    badge), one in progress and one awaiting payment; another member's under review."""
    first, second, third = (await api.publish(), await api.publish(), await api.publish())
    evaluator = await api.evaluator([first["id"], second["id"]])
    member = uid("member")

    approved = Flow(api=api, credential=first, member=member, evaluator=evaluator)
    await approved.submitted()
    assert (await approved.decide("approved")).status_code == 200
    item = await eventually_status(api, member, approved.enrolment_id, "approved")
    badge_url = item["badge_url"] or (await eventually(lambda: _badge_url(api, member)))
    reviewing = Flow(api=api, credential=second, member=uid("member"), evaluator=evaluator)
    await reviewing.submitted()
    working = Flow(api=api, credential=second, member=member, evaluator=evaluator)
    await working.paid()
    unpaid = Flow(api=api, credential=third, member=member, evaluator=evaluator)
    await unpaid.buy()

    notes = await api.http.get("/api/v1/me/notifications", headers=approved.me)
    flows = (approved, reviewing, working, unpaid)
    return Seeded(
        api=api,
        member=member,
        evaluator=evaluator,
        ids={
            "credential_id": [first["id"], second["id"], third["id"]],
            "enrolment_id": [f.enrolment_id for f in flows],
            "task_id": ["plan-1", "plan-2", "reflect-1"],
            "sub": [evaluator],
            "session_id": [unpaid.checkout_session_id],
            "badge_id": [str(badge_url).rsplit("/", 1)[1]],
            "notification_id": [n["id"] for n in notes.json()["items"]][:3],
        },
    )


async def _badge_url(api: Api, member: str) -> str | None:
    items = await api.learning(member)
    return next((i["badge_url"] for i in items if i["badge_url"]), None)


async def fuzzer(seeded: Seeded) -> Fuzzer:
    """A fuzzer of the document the API serves, with a token for each role."""
    api = seeded.api
    document = await api.http.get("/openapi.json")
    assert document.status_code == 200
    chosen = os.environ.get("MICROCRED_FUZZ_SEED", str(DEFAULT_SEED))
    seed = random.randrange(2**32) if chosen == "random" else int(chosen)
    return Fuzzer(
        document.json(),
        api.http,
        asyncio.get_running_loop(),
        headers={
            "anonymous": {},
            "member": api.auth("member", seeded.member),
            "evaluator": api.auth("evaluator", seeded.evaluator),
            "admin": api.admin(),
        },
        seeds=seeded.ids,
        examples=EXAMPLES,
        seed_=seed,
    )


async def run(fuzz: Fuzzer, method: str, capsys: pytest.CaptureFixture[str], title: str) -> None:
    started = asyncio.get_running_loop().time()
    for role in ROLES:
        await asyncio.to_thread(getattr(fuzz, method), role)
    elapsed = asyncio.get_running_loop().time() - started
    with capsys.disabled():
        print(f"\n{fuzz.tally.summary(f'{title} (seed {fuzz.seed}, {elapsed:.1f} s)')}")
    assert not fuzz.tally.failures, "\n\n".join(fuzz.tally.failures[:20])


async def test_every_operation_answers_as_documented_for_every_role(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz = await fuzzer(seeded)
    await run(fuzz, "fuzz", capsys, "API fuzz")
    assert set(fuzz.tally.examples) == set(ROLES)


async def test_forbidden_text_is_refused_everywhere_for_every_role(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    fuzz = await fuzzer(seeded)
    await run(fuzz, "hostile", capsys, "hostile text")
    assert set(fuzz.tally.examples) == set(ROLES)
