"""The machinery of the API fuzz (``test_fuzz.py``): schemathesis generates requests from the
API's own OpenAPI document, they go through the in-process app, and each answer is checked
against the same document.

The app, its worker and the Temporal test server live on the test's event loop, while
Hypothesis draws examples synchronously: the examples are drawn in a thread
(``asyncio.to_thread``) and each request is handed back to the loop, so no second loop ever
touches the app's clients. Failures are collected, not raised, so one run reports them all
with their figures (and no shrinking replays requests against state the first try changed).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

BASE_URL = "http://testserver"
ROLES = ("anonymous", "member", "evaluator", "admin")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# A request that takes longer than this has hung (a lifecycle call waits on its workflow).
REQUEST_TIMEOUT = 60.0
# Drawing a case for a large body schema (a credential document) is slow on a loaded machine.
RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

Operation = APIOperation[Any, Any, Any, Any]
Example = Callable[[Operation, str, st.DataObject], None]

# What the input boundary must refuse (``microcred/text.py``): C0 controls other than tab,
# newline and carriage return; lone surrogates only where JSON can carry them (a URL cannot).
CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


@dataclass
class Tally:
    """What a fuzz run sent and what went wrong, per role."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, role: str, status: int) -> None:
        self.examples[role] += 1
        self.statuses.setdefault(role, Counter())[status] += 1

    def summary(self, title: str) -> str:
        lines = [f"{title}: {sum(self.examples.values())} requests, {len(self.failures)} failures"]
        for role in ROLES:
            statuses = " ".join(f"{s}x{n}" for s, n in sorted(self.statuses.get(role, Counter()).items()))
            lines.append(f"  {role:<9} {self.examples[role]:>5} requests  [{statuses}]")
        return "\n".join(lines)


class Fuzzer:
    """Sends schemathesis cases through ``http`` (an ``httpx.AsyncClient`` on the app, running on
    ``loop``) and validates each answer against the OpenAPI document."""

    def __init__(
        self,
        doc: dict[str, Any],
        http: httpx.AsyncClient,
        loop: asyncio.AbstractEventLoop,
        *,
        headers: Mapping[str, dict[str, str]],
        seeds: Mapping[str, list[str]],
        examples: int,
        seed_: int,
    ) -> None:
        self.schema = schemathesis.openapi.from_dict(doc)
        # The role's token is ours to send; generated ones would only test 401 again and again.
        self.schema.config.generation.update(with_security_parameters=False)
        self.operations = [result.ok() for result in self.schema.get_all_operations()]  # type: ignore[union-attr]
        self.http, self.loop = http, loop
        self.headers, self.seeds = headers, seeds
        self.settings = settings(
            max_examples=examples,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=RELAXED,
        )
        self.seed = seed_
        self.tally = Tally()

    # --- sending -----------------------------------------------------------------------------

    def send(self, case: Case[Any], role: str, body: dict[str, Any] | None = None) -> httpx.Response | None:
        """The case through the app (with ``body`` instead of its own, when given); None (and a
        failure) when the app raised instead of answering."""
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.headers[role])
        if body is not None:
            kwargs = {**kwargs, "json": body}
        request = self.http.build_request(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params") or None,
            headers=kwargs.get("headers"),
            content=_content(kwargs),
        )
        future = asyncio.run_coroutine_threadsafe(self.http.send(request), self.loop)
        try:
            return future.result(timeout=REQUEST_TIMEOUT)
        except Exception as exc:  # an unhandled error escapes the ASGI app: the server's 500
            self.tally.record(role, 500)
            self.tally.failures.append(
                f"{role} {case.operation.label}: app raised {exc!r}\n{case.as_curl_command()}"
            )
            return None

    def check(
        self,
        case: Case[Any],
        role: str,
        *extra: Callable[[httpx.Response], str | None],
        body: dict[str, Any] | None = None,
    ) -> None:
        """Send ``case`` as ``role``; record what the answer breaks: the document, or ``extra``."""
        response = self.send(case, role, body)
        if response is None:
            return
        self.tally.record(role, response.status_code)
        problems = [problem for test in extra if (problem := test(response))]
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:  # every failed check, with a curl command to reproduce it
            problems.append(str(failures))
        for problem in problems:
            self.tally.failures.append(f"{role} {case.operation.label} -> {response.status_code}: {problem}")

    # --- strategies ----------------------------------------------------------------------------

    def cases(self, operation: Operation) -> st.SearchStrategy[Case[Any]]:
        """Valid and invalid requests, some of them naming the seeded resources in their path."""
        strategies = [
            operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        names = [p.name for p in operation.path_parameters]
        if names and all(name in self.seeds for name in names):
            real = st.fixed_dictionaries({name: st.sampled_from(self.seeds[name]) for name in names})
            strategies.append(real.flatmap(lambda path: operation.as_strategy(path_parameters=path)))
        return st.one_of(strategies)

    def run(self, role: str, one: Example) -> None:
        """``one(operation, role, data)`` for a bounded number of examples of every operation."""
        for operation in self.operations:
            self._examples(operation, role, one)

    def _examples(self, operation: Operation, role: str, one: Example) -> None:
        @self.settings
        @seed(self.seed)
        @given(data=st.data())
        def examples(data: st.DataObject) -> None:
            one(operation, role, data)

        examples()

    def fuzz(self, role: str) -> None:
        """Generated requests of every operation, as ``role``: documented answers only."""
        self.run(role, self._generated)

    def hostile(self, role: str) -> None:
        """Requests of every operation carrying forbidden text in the path, the query or the JSON
        body: 422 ``invalid_text``; and very long text there: still a documented answer."""
        self.run(role, self._hostile)

    def _generated(self, operation: Operation, role: str, data: st.DataObject) -> None:
        self.check(data.draw(self.cases(operation)), role)

    def _hostile(self, operation: Operation, role: str, data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(GenerationMode.POSITIVE))
        where = data.draw(st.sampled_from(_locations(case)))
        long = data.draw(st.booleans())
        in_body = where.startswith("body")
        text = data.draw(_long_text(json_body=in_body) if long else _forbidden_text(json_body=in_body))
        body = _inject(case, where, text)
        self.check(case, role, *([] if long else [_refused_as_invalid_text]), body=body)


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if "json" in kwargs:
        # ASCII escapes, so a lone surrogate travels as JSON's \\udXXX (UTF-8 cannot carry it).
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    return data.encode() if isinstance(data, str) else data


def _forbidden_text(*, json_body: bool) -> st.SearchStrategy[str]:
    bad = st.sampled_from(CONTROLS + SURROGATES if json_body else CONTROLS)
    around = st.text(max_size=12)
    return st.tuples(around, bad, around).map("".join)


def _long_text(*, json_body: bool) -> st.SearchStrategy[str]:
    """Far past every documented maximum; in a URL within what a client sends at all (httpx stops
    at 64 KiB, and a proxy in front of the API long before)."""
    if json_body:
        return st.sampled_from(["x" * 200_000, "é" * 70_000])
    return st.sampled_from(["x" * 8_000, "é" * 1_000, "a/b" * 2_000])


def _locations(case: Case[Any]) -> list[str]:
    """Where text can go in ``case``: an unknown query parameter always."""
    places = ["query"] + [f"path:{name}" for name in case.path_parameters or {}]
    if isinstance(case.body, dict) and case.operation.path != "/api/v1/webhooks/stripe":
        places += ["body:fuzz"] + [
            f"body:{key}" for key, value in case.body.items() if isinstance(value, str)
        ]
    return places


def _inject(case: Case[Any], where: str, text: str) -> dict[str, Any] | None:
    """Put ``text`` at ``where`` in ``case``; a body is answered instead (schemathesis cannot
    check a case holding a lone surrogate), for ``send`` to send."""
    if where.startswith("body:"):  # a field of the body's, or a new one: the boundary reads every string
        assert isinstance(case.body, dict)
        return {**case.body, where.removeprefix("body:"): text}
    if where == "query":
        case.query = {**(case.query or {}), "fuzz": text}
    else:  # percent-encoded, as a client sends it (the server decodes it before any route)
        case.path_parameters = {
            **(case.path_parameters or {}),
            where.removeprefix("path:"): quote(text, safe=""),
        }
    return None


def _refused_as_invalid_text(response: httpx.Response) -> str | None:
    if response.status_code == 422 and response.json().get("detail", {}).get("code") == "invalid_text":
        return None
    return f"forbidden text was not refused with 422 invalid_text: {response.text[:300]}"
