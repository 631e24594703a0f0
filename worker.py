"""The microcred worker: runs every workflow and activity on the task queue.

``microcred worker`` calls ``main``; ``microcred dev`` and the tests call ``build_worker``.
On SIGTERM the worker stops polling, lets in-flight activities finish within the graceful
shutdown timeout and leaves anything unfinished to be retried by another worker: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.badges import BadgeActivities
from activities.evidence import EvidenceActivities
from activities.failures import FinalDataErrors
from activities.notifications import MailActivities, MailSettings, NotificationActivities
from activities.payments import PaymentActivities
from activities.store import StoreActivities
from microcred import mail
from microcred.badges import BadgeIssuer
from microcred.config import Settings
from microcred.db import SessionFactory, create_db_engine, make_session_factory
from microcred.payments import PaymentGateway, gateway_from_settings
from microcred.sandbox import workflow_runner
from microcred.services.evidence import Evidence
from microcred.temporal.client import connect, exit_after_stop
from workflows.enrolment import EnrolmentWorkflow
from workflows.mail import MailDeliveryWorkflow
from workflows.refund import LatePaymentWorkflow
from workflows.sweep import EvidenceSweepWorkflow

log = logging.getLogger("microcred.worker")

WORKFLOWS: Sequence[type] = (
    EnrolmentWorkflow,
    MailDeliveryWorkflow,
    LatePaymentWorkflow,
    EvidenceSweepWorkflow,
)
# An activity that fails on its data fails for good (activities/failures.py).
INTERCEPTORS = [FinalDataErrors()]
GRACEFUL_SHUTDOWN = timedelta(seconds=30)


@dataclass
class WorkerDeps:
    """Everything the activities need, built once from Settings."""

    sessions: SessionFactory
    gateway: PaymentGateway
    issuer: BadgeIssuer
    mail: MailSettings
    api_base_url: str
    evidence: Evidence | None = None  # the evidence store (built from the settings when None)


def deps_from_settings(settings: Settings, sessions: SessionFactory | None = None) -> WorkerDeps:
    if sessions is None:  # activities are retried, so no connection test before each use
        sessions = make_session_factory(create_db_engine(settings.sqlalchemy_url, pre_ping=False))
    return WorkerDeps(
        sessions=sessions,
        gateway=gateway_from_settings(settings),
        issuer=BadgeIssuer.from_settings(settings),
        mail=MailSettings(
            smtp=mail.SmtpConfig.from_url(settings.smtp_url) if settings.smtp_url else None,
            mail_from=settings.mail_from,
            admin_emails=tuple(settings.admin_emails),
            task_queue=settings.task_queue,
        ),
        api_base_url=settings.api_base_url,
        evidence=Evidence.from_settings(settings),
    )


def activities(client: Client | None, deps: WorkerDeps) -> list[Any]:
    """Every activity of microcred, bound to its injected clients."""
    store = StoreActivities(deps.sessions)
    payments = PaymentActivities(deps.sessions, deps.gateway, api_base_url=deps.api_base_url)
    notifications = NotificationActivities(deps.sessions, client, deps.mail, api_base_url=deps.api_base_url)
    mailer = MailActivities(deps.sessions, deps.mail)
    badges = BadgeActivities(deps.sessions, deps.issuer)
    # A worker given no store (some tests) leaves the sweep to those that have one.
    sweep = [EvidenceActivities(deps.sessions, deps.evidence).sweep_stale] if deps.evidence else []
    return [
        *sweep,
        store.record,
        store.freeze_submission,
        store.record_decision,
        store.assign_evaluator,
        store.grant_community,
        payments.create_checkout,
        payments.close_checkout,
        payments.refund,
        notifications.notify,
        notifications.resend,
        mailer.send,
        mailer.sent,
        mailer.give_up,
        badges.issue_badge,
    ]


def build_worker(
    client: Client,
    deps: WorkerDeps,
    *,
    task_queue: str,
    executor: ThreadPoolExecutor,
    max_concurrent_activities: int,
    max_cached_workflows: int = 1000,
    **options: Any,
) -> Worker:
    """A worker running everything; sync activities run on ``executor``, which needs a thread
    for each of the ``max_concurrent_activities``. Workflows run in the sandbox
    (``microcred.sandbox``) unless ``options`` name another ``workflow_runner``."""
    options.setdefault("workflow_runner", workflow_runner())
    options.setdefault("interceptors", INTERCEPTORS)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(client, deps),
        activity_executor=executor,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        **options,
    )


def metrics_runtime(port: int) -> Runtime:
    """A Temporal runtime exporting the SDK's metrics and the workflows' business counters
    (``workflow.metric_meter()``) for Prometheus on ``port``."""
    prometheus = PrometheusConfig(bind_address=f"0.0.0.0:{port}", counters_total_suffix=True)
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus, global_tags={"service": "microcred-worker"}))


async def run(settings: Settings, *, stop: asyncio.Event | None = None, client: Client | None = None) -> None:
    """Run a worker until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is not given)."""
    deps = deps_from_settings(settings)
    if client is None:
        runtime = metrics_runtime(settings.metrics_port) if settings.metrics_port else None
        client = await connect(settings, runtime=runtime)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(
        max_workers=settings.max_concurrent_activities, thread_name_prefix="activity"
    ) as executor:
        worker = build_worker(
            client,
            deps,
            task_queue=settings.task_queue,
            executor=executor,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_cached_workflows=settings.max_cached_workflows,
        )
        async with worker:
            log.info("worker polling task queue %s", settings.task_queue)
            await stop.wait()
            log.info("worker stopping: finishing in-flight activities")
    await deps.gateway.aclose()


def main() -> None:
    asyncio.run(run(Settings()))
    exit_after_stop(0)


if __name__ == "__main__":
    main()
