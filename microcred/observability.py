"""Logging (structured JSON) and metrics."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from microcred.config import Settings


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Alembic announces each of its plugins at INFO whenever it is imported: noise in every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
