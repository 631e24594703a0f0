"""``microcred setup``: prepare a real deployment's database and Temporal namespace."""

from __future__ import annotations

import logging

from microcred import migrate
from microcred.config import Settings
from microcred.temporal.client import connect
from microcred.temporal.setup import register_search_attributes, schedule_sweeps

log = logging.getLogger("microcred.setup")


async def run(settings: Settings) -> None:
    """Migrate the database, register the search attributes, schedule the sweep of stale evidence
    uploads and give an S3 store its lifecycle rule; safe to run again.

    The migration closes its one connection (``migrations/env.py``); the Temporal client has no
    close, so the command ends through ``exit_after_stop`` (``microcred.cli``), never through
    the interpreter's teardown, which the SDK's threads can abort.
    """
    migrate.upgrade(settings.sqlalchemy_url)
    log.info("database migrated")
    client = await connect(settings)
    added = await register_search_attributes(client, settings.temporal_namespace)
    log.info("search attributes registered: %s", ", ".join(added) or "all present already")
    created = await schedule_sweeps(client, task_queue=settings.task_queue)
    log.info("evidence sweep schedule %s", "created" if created else "present already")
    if settings.s3_bucket:
        from microcred.storage.s3 import S3Store

        S3Store.from_settings(settings).prepare(
            stale_after_days=max(1, settings.evidence_stale_after.days),
            cors_origins=[settings.public_base_url.rstrip("/"), *settings.cors_origins],
        )
        log.info("S3 bucket %s: lifecycle rule for stale uploads in place", settings.s3_bucket)
