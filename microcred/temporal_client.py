"""The Temporal client, built once per process (API lifespan, worker, commands)."""

from __future__ import annotations

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
