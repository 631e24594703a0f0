"""The chaos drill: lifecycles through HTTP while the worker, the API and the Temporal dev server
are killed with SIGKILL at random and PostgreSQL crashes, each started again after a moment.

Everything is private to one run: a PostgreSQL cluster (``cluster``), a Temporal dev server
persisting to a SQLite file, the worker and the API (``microcred worker``, ``microcred api``),
an SMTP server (``sink``), all in one temp folder on free ports. The monkey strikes one at a
time, in a random order of the four kinds each round, and waits until the one it struck is back.
At the end everything is counted from the ground truth (``tally``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.chaos import tally
from bench.chaos.cluster import Cluster
from bench.chaos.lives import EVALUATOR, Driver, Life, plans
from bench.chaos.processes import Restartable
from bench.chaos.sink import MailSink
from bench.stack import SECRET, WEBHOOK_SECRET, child_env, command, free_port
from microcred import binaries, migrate
from microcred.config import Settings
from microcred.payments.offline import REFUND_LEDGER, refunds
from microcred.temporal.setup import dev_server_args, register_search_attributes, worker_polling

KINDS = ("worker", "api", "temporal", "postgres")
DATABASE = "microcred"
MAIL_SETTLE_TIMEOUT = 300.0  # mail retried after a failure waits its backoff (10 s, 20 s, ...)


@dataclass(frozen=True)
class Options:
    lifecycles: int = 50
    concurrency: int = 8
    kill_every: tuple[float, float] = (2.0, 5.0)  # seconds between strikes, uniform
    downtime: tuple[float, float] = (0.2, 2.0)  # seconds a struck process stays down
    seed: int | None = None
    keep: bool = False  # keep the temp folder (logs, databases) for a look afterwards
    min_rounds: int = 1  # strike each kind at least this often, even if the lifecycles end first


@dataclass
class Report:
    lifecycles: int
    seed: int
    tally: tally.Tally
    kills: Counter[str]
    exited_on_their_own: dict[str, list[int]]
    failures: dict[str, str]  # member -> why the driver gave up
    retried: Counter[str]
    duration_s: float
    by_plan: dict[str, int] = field(default_factory=dict)

    # Mail sent twice with no kill of the worker or of Temporal between its two deliveries.
    mails_twice_unexplained: int = 0

    @property
    def ok(self) -> bool:
        t = self.tally
        return (
            t.completed == self.lifecycles
            and not any(t.doubles.values())
            and t.mails_missing == 0
            and self.mails_twice_unexplained == 0
        )

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        return {
            "lifecycles": self.lifecycles,
            "completed": t.completed,
            "by_plan": self.by_plan,
            "kills": dict(self.kills),
            **t.doubles,
            "mails": {
                "expected": t.mails_expected,
                "received": t.mails_received,
                "missing": t.mails_missing,
                "sent_twice": t.mails_sent_twice,
                "sent_twice_unexplained": self.mails_twice_unexplained,
            },
            "exited_on_their_own": self.exited_on_their_own,
            "retried_requests": dict(self.retried),
            "incomplete": t.incomplete,
            "driver_failures": self.failures,
            "duration_s": round(self.duration_s, 1),
            "seed": self.seed,
            "ok": self.ok,
        }


class Stack:
    """The four parts the monkey strikes, on fixed ports so each comes back where it was."""

    def __init__(self, workdir: Path, cluster: Cluster, settings: Settings, temporal_port: int) -> None:
        self.cluster = cluster
        self.settings = settings
        self.address = f"127.0.0.1:{temporal_port}"
        self.client: Client | None = None
        temporal = binaries.find("temporal")
        if temporal is None:
            raise RuntimeError("the temporal CLI is missing: install the dev requirements (make does)")
        db_file = workdir / "temporal.db"  # persisted: a killed server loses nothing
        self.temporal = Restartable(
            "temporal",
            [temporal, *dev_server_args(port=temporal_port, db_file=db_file, log_level="error")],
            {},
            workdir / "temporal.log",
            self._temporal_answers,
        )
        env = child_env(settings)
        self.worker = Restartable(
            "worker", command("worker", settings), env, workdir / "worker.log", self._worker_polls
        )
        self.api = Restartable("api", command("api", settings), env, workdir / "api.log", self._api_answers)
        self.children = {"temporal": self.temporal, "worker": self.worker, "api": self.api}

    async def _temporal_answers(self) -> bool:
        if self.client is None:
            self.client = await Client.connect(self.address, data_converter=pydantic_data_converter)
        await self.client.workflow_service.get_system_info(GetSystemInfoRequest())
        return True

    async def _worker_polls(self) -> bool:
        assert self.client is not None
        return await worker_polling(self.client, self.settings.task_queue)

    async def _api_answers(self) -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{self.settings.public_base_url}/readyz")).status_code == 200

    async def start(self) -> None:
        await self.temporal.start()
        assert self.client is not None
        await register_search_attributes(self.client, self.client.namespace)
        await self.worker.start()
        await self.api.start()

    async def strike(self, kind: str, downtime: float) -> None:
        """Kill ``kind`` (crash PostgreSQL), wait ``downtime``, start it again, wait until it is up."""
        if kind == "postgres":
            await self.cluster.crash()
            await asyncio.sleep(downtime)
            await self.cluster.start()
            return
        child = self.children[kind]
        await child.kill()
        await asyncio.sleep(downtime)
        await child.start()

    async def revive(self) -> None:
        """Start again whatever ended on its own (the count says so)."""
        for child in self.children.values():
            await child.revive_if_dead()

    async def stop(self) -> None:
        await self.api.stop()
        await self.worker.stop()
        await self.temporal.stop()


def unexplained(twice: dict[str, tuple[float, float]], struck: list[tuple[str, float]]) -> int:
    """Mail is at least once (SMTP has no idempotent send): a message goes again only when the
    news that it went was lost, the worker killed after the SMTP server took it or Temporal down
    when it was to hear so. So each duplicate must straddle such a kill; any other is a bug."""
    losing = [at for kind, at in struck if kind in ("worker", "temporal")]
    return sum(1 for first, last in twice.values() if not any(first <= at <= last for at in losing))


async def monkey(
    stack: Stack,
    rng: random.Random,
    options: Options,
    kills: Counter[str],
    struck: list[tuple[str, float]],
    rounds_done: asyncio.Event,
) -> None:
    """Strike until cancelled: each round the four kinds in a random order."""
    rounds = 0
    while True:
        for kind in rng.sample(KINDS, len(KINDS)):
            await asyncio.sleep(rng.uniform(*options.kill_every))
            await stack.revive()
            kills[kind] += 1
            struck.append((kind, time.monotonic()))
            await stack.strike(kind, rng.uniform(*options.downtime))
        rounds += 1
        if rounds >= options.min_rounds:
            rounds_done.set()


@contextlib.contextmanager
def _workdir(*, keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="microcred-chaos-"))
    path.chmod(0o755)  # the postgres OS user reaches its cluster folder inside
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


async def run(
    options: Options, *, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)
) -> Report:
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    run_id = uuid.uuid4().hex[:6]
    lives = plans(options.lifecycles, run=run_id, seed=seed)
    started = time.perf_counter()
    with _workdir(keep=options.keep) as workdir:
        cluster = Cluster(workdir / "postgres", free_port())
        await cluster.create()
        sink = MailSink(free_port())
        sink.start()
        stack: Stack | None = None
        try:
            with psycopg.connect(cluster.admin_url, autocommit=True) as db:
                db.execute(f"CREATE DATABASE {DATABASE}".encode())
            await asyncio.to_thread(migrate.upgrade, cluster.url(DATABASE))
            temporal_port = free_port()
            settings = _settings(workdir, cluster.url(DATABASE), sink.url, temporal_port)
            stack = Stack(workdir, cluster, settings, temporal_port)
            await stack.start()
            log(f"chaos: {options.lifecycles} lifecycles, seed {seed}, in {workdir}")
            report = await _drive(stack, sink, run_id, lives, rng, options, log)
            report.seed = seed
            report.duration_s = time.perf_counter() - started
            return report
        except BaseException:
            if stack is not None:
                for child in stack.children.values():
                    log(f"--- {child.name} log (tail) ---\n{child.tail()}")
            log(f"--- postgres log (tail) ---\n{cluster.log_tail()}")
            raise
        finally:
            if stack is not None:
                await stack.stop()
            sink.stop()
            with contextlib.suppress(RuntimeError):
                await cluster.stop()


def _settings(workdir: Path, database_url: str, smtp_url: str, temporal_port: int) -> Settings:
    port = free_port()
    return Settings(
        environment="dev",
        data_dir=workdir,
        database_url=database_url,
        temporal_address=f"127.0.0.1:{temporal_port}",
        task_queue=f"chaos-{uuid.uuid4().hex[:8]}",
        auth_secret=SECRET,
        stripe_webhook_secret=WEBHOOK_SECRET,
        public_base_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp_url,
        admin_emails=["chaos-admins@example.org"],
        log_level="WARNING",
        log_json=False,
        rate_limit_member="1000000/second",
        rate_limit_ip="1000000/second",
    )


async def _drive(
    stack: Stack,
    sink: MailSink,
    run_id: str,
    lives: list[Life],
    rng: random.Random,
    options: Options,
    log: Callable[[str], None],
) -> Report:
    kills: Counter[str] = Counter()
    struck: list[tuple[str, float]] = []  # (kind, monotonic time) of every kill
    failures: dict[str, str] = {}
    gate = asyncio.Semaphore(options.concurrency)
    async with httpx.AsyncClient(base_url=stack.settings.public_base_url, timeout=60) as http:
        driver = Driver(http)
        await driver.publish(f"chaos-{run_id}")
        await driver.register(EVALUATOR, f"chaos-{run_id}")
        for life in lives:
            if life.claimed:
                await driver.publish(life.credential_id)

        async def one(life: Life) -> None:
            async with gate:
                try:
                    await driver.live(life)
                except Exception as error:  # the tally says what state it was left in
                    failures[life.member] = f"{type(error).__name__}: {error}"
                    log(f"chaos: {life.member} ({life.plan}) gave up: {error}")

        rounds_done = asyncio.Event()
        striking = asyncio.create_task(monkey(stack, rng, options, kills, struck, rounds_done))
        try:
            await asyncio.gather(*(one(life) for life in lives))
            await rounds_done.wait()
        finally:
            striking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await striking
        # The monkey may have been cancelled mid-strike: bring everything back before counting.
        with contextlib.suppress(RuntimeError):
            await stack.cluster.start()
        for child in stack.children.values():
            if not child.running:
                await child.start()
        await _settle_mail(stack, log)
    counted = tally.count(
        stack.cluster.libpq_url(DATABASE),
        lives,
        refunds(stack.settings.data_dir / REFUND_LEDGER),
        sink.counts(),
    )
    return Report(
        lifecycles=len(lives),
        seed=0,
        tally=counted,
        kills=kills,
        exited_on_their_own={n: c.exits for n, c in stack.children.items() if c.exits},
        failures=failures,
        retried=driver.retried,
        duration_s=0.0,
        by_plan=dict(Counter(life.plan.value for life in lives)),
        mails_twice_unexplained=unexplained(sink.twice(), struck),
    )


async def _settle_mail(stack: Stack, log: Callable[[str], None]) -> None:
    """Wait until no mail delivery is under way (a delivery that failed waits out its backoff)."""
    url = stack.cluster.libpq_url(DATABASE)
    deadline = asyncio.get_running_loop().time() + MAIL_SETTLE_TIMEOUT
    while (pending := await asyncio.to_thread(tally.pending_mail, url)) > 0:
        if asyncio.get_running_loop().time() > deadline:
            log(f"chaos: {pending} mails still pending after {MAIL_SETTLE_TIMEOUT:.0f} s")
            return
        await asyncio.sleep(1.0)
