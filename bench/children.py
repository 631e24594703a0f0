"""The benchmark's own processes under test, started by ``bench.stack.service``:

- ``python -m bench.children learning-api``: the product API plus the bare endpoints of
  bench/learning.py, served as ``microcred api`` serves the product;
- ``python -m bench.children bare-worker``: the bare-engine baseline's worker (bench/bare.py).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from urllib.parse import urlsplit

import uvicorn

from api.main import create_app
from bench import bare, learning
from microcred.config import Settings
from microcred.observability import configure_logging
from microcred.temporal.client import exit_after_stop


async def bare_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await bare.run_worker(settings, stop=stop)


def learning_api(settings: Settings) -> None:
    app = create_app(settings)
    learning.mount_bare_endpoint(app)
    port = urlsplit(settings.public_base_url).port or 8000
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def main(argv: list[str]) -> None:
    if argv not in (["learning-api"], ["bare-worker"]):
        raise SystemExit("usage: python -m bench.children {learning-api,bare-worker}")
    settings = Settings()
    configure_logging(settings)
    if argv == ["bare-worker"]:
        asyncio.run(bare_worker(settings))
        exit_after_stop(0)
    else:
        learning_api(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
