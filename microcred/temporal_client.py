"""The Temporal client, built once per process (API lifespan, worker, commands)."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from microcred.config import Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None, lazy: bool = False) -> Client:
    """A client with the pydantic converter; ``lazy`` connects on first use (the API starts
    even while Temporal is down, and ``/readyz`` says so)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        lazy=lazy,
    )


def exit_after_stop(code: int = 0) -> NoReturn:
    """End a process whose Temporal work has stopped, skipping the interpreter's teardown.

    The SDK's Rust bridge threads can outlive the event loop and abort CPython's finalization
    (SIGABRT, "PyGILState_Release: thread state ... must be current when releasing";
    temporalio/sdk-python#300): a clean stop would look like a crash to whatever supervises the
    process (``microcred dev``, an orchestrator). Logs and output are flushed first.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
