"""``microcred setup``: prepare a real deployment's database and Temporal namespace."""

from __future__ import annotations

import logging

from microcred import migrate
from microcred.config import Settings
from microcred.temporal.client import connect
from microcred.temporal.setup import register_search_attributes

log = logging.getLogger("microcred.setup")


async def run(settings: Settings) -> None:
    """Migrate the database and register the search attributes; safe to run again.

    The migration closes its one connection (``migrations/env.py``); the Temporal client has no
    close, so the command ends through ``exit_after_stop`` (``microcred.cli``), never through
    the interpreter's teardown, which the SDK's threads can abort.
    """
    migrate.upgrade(settings.sqlalchemy_url)
    log.info("database migrated")
    client = await connect(settings)
    added = await register_search_attributes(client, settings.temporal_namespace)
    log.info("search attributes registered: %s", ", ".join(added) or "all present already")
