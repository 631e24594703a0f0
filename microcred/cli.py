"""The ``microcred`` command: dev, api, worker, setup, token."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from microcred.identity import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microcred", description="Paid micro-credentials on Temporal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser(
        "dev", help="the whole stack on this machine (Temporal dev server, worker, API)"
    )
    dev.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    dev.add_argument("--temporal-port", type=int, default=7233, help="Temporal frontend port (default 7233)")
    dev.add_argument("--ui-port", type=int, default=8233, help="Temporal Web UI port (default 8233)")
    dev.add_argument(
        "--data-dir", type=Path, default=Path(".microcred"), help="data folder (default .microcred/)"
    )
    dev.add_argument(
        "--host", default="127.0.0.1", help="interface for the API and the UI (default 127.0.0.1)"
    )

    api = commands.add_parser("api", help="serve the HTTP API (reads MICROCRED_* settings)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    commands.add_parser("worker", help="run a Temporal worker (reads MICROCRED_* settings)")
    commands.add_parser("setup", help="run migrations and register search attributes (idempotent)")

    token = commands.add_parser(
        "token",
        help="print an HS256 bearer token signed with MICROCRED_AUTH_SECRET (else the dev data folder's)",
    )
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--sub", required=True, help="the user id")
    token.add_argument("--email")
    token.add_argument("--name")
    token.add_argument("--days", type=int, default=30, help="validity in days (default 30)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "dev":
        from microcred import dev

        return dev.main(
            port=args.port,
            temporal_port=args.temporal_port,
            ui_port=args.ui_port,
            data_dir=args.data_dir,
            host=args.host,
        )

    from microcred.config import Settings
    from microcred.observability import configure_logging

    settings = Settings()
    configure_logging(settings)
    if args.command == "api":
        import uvicorn

        uvicorn.run(
            "api.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            proxy_headers=True,
            loop="uvloop",  # less CPU per request than asyncio's own loop (README, Performance)
            access_log=False,  # the API logs every request itself (api/telemetry.py)
        )
        # uvicorn has shut the app down (its lifespan closed the database pool); the Temporal
        # client cannot be closed, so skip the teardown its threads can abort.
        from microcred.temporal.client import exit_after_stop

        exit_after_stop(0)
    elif args.command == "worker":
        import worker

        worker.main()
    elif args.command == "setup":
        from microcred import setup
        from microcred.temporal.client import exit_after_stop

        asyncio.run(setup.run(settings))
        # Done: end without the interpreter's teardown, which the Temporal SDK's threads can abort
        # (SIGABRT, exit 134) after everything succeeded; a deploy waits on this command's status.
        exit_after_stop(0)
    elif args.command == "token":
        from datetime import timedelta

        from microcred.auth import issue_token
        from microcred.dev import dev_auth_secret, dev_secrets_path

        secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
        secret = secret or dev_auth_secret(settings.data_dir)
        if secret is None:
            print(
                "set MICROCRED_AUTH_SECRET first (or run `make dev` once: then the secret it keeps "
                f"in {dev_secrets_path(settings.data_dir)} is used)",
                file=sys.stderr,
            )
            return 2
        print(
            issue_token(
                secret,
                sub=args.sub,
                role=Role(args.role),
                email=args.email,
                name=args.name,
                ttl=timedelta(days=args.days),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
