"""The bare-engine baseline's worker process: ``python -m bench.bare_worker``, started by
``bench.stack.service("bare-worker", ...)`` and stopped with SIGTERM. Its workflow lives in
``bench.bare`` (the sandbox re-imports a workflow's module by name, never ``__main__``)."""

from __future__ import annotations

import asyncio
import signal

from bench.bare import run_worker
from microcred.config import Settings
from microcred.observability import configure_logging
from microcred.temporal.client import exit_after_stop


async def main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop=stop)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    asyncio.run(main(settings))
    exit_after_stop(0)
