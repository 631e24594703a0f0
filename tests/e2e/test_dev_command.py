"""``microcred dev`` as a newcomer runs it: start, buy through the offline checkout, save work,
stop with SIGTERM, start again on the same data folder, and find everything where it was."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from microcred import demo
from microcred.auth import issue_token
from microcred.dev import dev_auth_secret

STARTUP = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dev_command(data_dir: Path, ports: dict[str, int]) -> list[str]:
    return [
        str(Path(sys.executable).parent / "microcred"),
        "dev",
        "--port",
        str(ports["api"]),
        "--temporal-port",
        str(ports["temporal"]),
        "--ui-port",
        str(ports["ui"]),
        "--data-dir",
        str(data_dir),
    ]


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}


def start_dev(data_dir: Path, ports: dict[str, int]) -> tuple[subprocess.Popen[bytes], Path, str]:
    """Start ``microcred dev``; return it, its log file and what it printed once it is ready."""
    log = data_dir.parent / f"dev-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            dev_command(data_dir, ports), stdout=out, stderr=subprocess.STDOUT, env=clean_environment()
        )
    deadline = time.monotonic() + STARTUP
    text = ""
    while "Ctrl-C stops everything" not in text:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"microcred dev did not start (exit code {process.wait()}):\n{log.read_text()}")
        time.sleep(0.2)
        text = log.read_text()
    return process, log, text


def demo_tokens(data_dir: Path) -> dict[str, str]:
    """Tokens of the demo people, signed with the secret ``microcred dev`` keeps in its data folder
    (what ``microcred token`` prints)."""
    secret = dev_auth_secret(data_dir)
    assert secret is not None
    return {role.value: issue_token(secret, sub=sub, role=role) for sub, role in demo.PEOPLE}


@contextmanager
def microcred_dev(data_dir: Path, ports: dict[str, int]) -> Iterator[tuple[str, dict[str, str]]]:
    """Run ``microcred dev``; yield the API base URL and the demo people's tokens; SIGTERM must
    then stop it cleanly (exit code 0)."""
    process, log, text = start_dev(data_dir, ports)
    try:
        base = f"http://localhost:{ports['api']}"
        # The banner leads with the web app and the demo people's sign-in links.
        lines = text[text.index("microcred is running") :].splitlines()
        assert lines[1].split() == ["Web", "app", f"{base}/"]
        for sub, role in demo.PEOPLE:
            assert f"{base}/sign-in/dev?sub={sub}&role={role}" in text
        assert f"http://localhost:{ports['ui']}" in text and f"{base}/docs" in text
        yield f"http://127.0.0.1:{ports['api']}", demo_tokens(data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=60) == 0, log.read_text()
            assert log.read_text().rstrip().endswith("`make dev` resumes every enrolment where it stood")
        finally:
            if process.poll() is None:
                process.kill()


def wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


@pytest.mark.slow
def test_dev_starts_buys_stops_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    with microcred_dev(data_dir, ports) as (base, tokens):
        member = {"Authorization": f"Bearer {tokens['member']}"}
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/readyz").json()["status"] == "ready"
            # The web app answers at / and at the printed sign-in links (make dev built it).
            for path in ("/", "/sign-in/dev?sub=demo-member&role=member"):
                assert '<div id="root">' in http.get(path).text
            catalog = http.get("/api/v1/credentials", headers=member).json()["items"]
            assert {c["id"] for c in catalog} >= {"inquiry-in-practice"}
            created = http.post(
                "/api/v1/enrolments", json={"credential_id": "inquiry-in-practice"}, headers=member
            )
            assert created.status_code == 201, created.text
            enrolment = created.json()
            checkout_url = enrolment["checkout_url"]
            assert checkout_url.startswith(f"http://localhost:{ports['api']}/api/v1/checkout/")
            page = http.get(checkout_url.replace("localhost", "127.0.0.1"))
            assert "Inquiry in practice" in page.text and "99.00 USD" in page.text
            paid = http.post(checkout_url.replace("localhost", "127.0.0.1") + "/pay")
            assert paid.status_code == 303

            def in_progress() -> bool:
                """Paid, and the payment's duties done (the community's access is granted after)."""
                [item] = http.get("/api/v1/me/learning", headers=member).json()["items"]
                community = item["community"]
                return bool(item["status"] == "in_progress" and (community is None or community["access"]))

            wait_for(in_progress)
            saved = http.put(
                f"/api/v1/enrolments/{enrolment['id']}/tasks/plan-unit",
                json={"response": "My unit"},
                headers=member,
            )
            assert saved.status_code == 200
            before = http.get("/api/v1/me/learning", headers=member).json()["items"][0]
            evaluator = {"Authorization": f"Bearer {tokens['evaluator']}"}
            assert http.get("/api/v1/reviews", headers=evaluator).status_code == 200

    # Second run on the same data folder: same secrets, same enrolment, same work, same timers.
    with microcred_dev(data_dir, ports) as (base, tokens_again):
        member = {"Authorization": f"Bearer {tokens_again['member']}"}
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/readyz").json()["status"] == "ready"
            after = http.get("/api/v1/me/learning", headers=member).json()["items"]
            assert after == [before]
            detail = http.get(f"/api/v1/enrolments/{enrolment['id']}", headers=member).json()
            task = next(t for s in detail["sections"] for t in s["tasks"] if t["id"] == "plan-unit")
            assert (task["response"], task["version"], task["editable"]) == ("My unit", 1, True)
            # The workflow is alive on the restarted server: it still accepts (and validates) updates.
            refused = http.post(
                f"/api/v1/enrolments/{enrolment['id']}/submit", json={"agree_terms": True}, headers=member
            )
            assert refused.status_code == 422 and refused.json()["detail"]["code"] == "tasks_incomplete"
            assert (data_dir / "temporal.db").exists() and (data_dir / "microcred.db").exists()
            assert oct((data_dir / "dev-secrets.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["worker", "Temporal dev server"])
def test_a_child_that_dies_stops_everything_with_an_error(tmp_path: Path, victim: str) -> None:
    """The worker, the API and the Temporal dev server are children of ``microcred dev``: if one
    dies, dev does not go on half-running; it stops the rest (no orphan left listening) and
    exits non-zero, saying why."""
    data_dir = tmp_path / "data"
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    process, log, _ = start_dev(data_dir, ports)
    try:
        children = psutil.Process(process.pid).children(recursive=True)
        commands = {child.pid: " ".join(child.cmdline()) for child in children}
        worker = [pid for pid, cmd in commands.items() if cmd.endswith("-m microcred worker")]
        api = [pid for pid, cmd in commands.items() if " -m microcred api " in cmd]
        temporal = [pid for pid, cmd in commands.items() if " server start-dev " in cmd]
        assert len(worker) == len(api) == len(temporal) == 1, commands
        os.kill((worker if victim == "worker" else temporal)[0], signal.SIGKILL)
        assert process.wait(timeout=60) == 1
        text = log.read_text()
        assert f"the {victim} stopped on its own (exit code -9)" in text, text
        _, left = psutil.wait_procs(children, timeout=0)
        assert not left, [" ".join(p.cmdline()) for p in left]
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("taken", ["api", "temporal", "ui"])
def test_dev_refuses_a_port_in_use_before_starting_anything(tmp_path: Path, taken: str) -> None:
    """Otherwise it would talk to whatever holds the port: another microcred's Temporal server,
    or its API answering the readiness check (and print a banner whose tokens do not work)."""
    flags = {"api": "--port", "temporal": "--temporal-port", "ui": "--ui-port"}
    data_dir = tmp_path / "data"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
        ports[taken] = int(holder.getsockname()[1])
        result = subprocess.run(
            dev_command(data_dir, ports), capture_output=True, text=True, timeout=60, env=clean_environment()
        )
    assert result.returncode == 1
    assert f"already in use: port {ports[taken]} ({flags[taken]})" in result.stderr
    assert "microcred is running" not in result.stdout
    assert not (data_dir / "temporal.log").exists()  # nothing was started
