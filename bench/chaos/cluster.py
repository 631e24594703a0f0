"""A private PostgreSQL cluster for the chaos drill: its own folder and port, so restarting it
never touches the shared server the tests use.

Built with Debian's ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/<version>/bin``, or the
folder in ``MICROCRED_CHAOS_PG_BIN``). PostgreSQL refuses to run as root, so when we are root
every command runs as the ``postgres`` OS user, who then owns the cluster's folder.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
from pathlib import Path

OS_USER = "postgres"
STOP_MODE = "immediate"  # a crash, as far as PostgreSQL can tell: it recovers from its WAL on start


def binaries() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: the newest PostgreSQL installed."""
    configured = os.environ.get("MICROCRED_CHAOS_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl): install Debian's postgresql package")
    return Path(on_path).parent


class Cluster:
    """One cluster in ``root`` listening on 127.0.0.1:``port`` (trust authentication, user
    ``postgres``); ``restart`` crashes it and starts it again."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self._bin = binaries()
        self._data = root / "data"
        self._log = root / "postgres.log"
        self._as_user = os.geteuid() == 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def libpq_url(self, database: str) -> str:
        """The libpq URL of ``database`` in this cluster (for psycopg)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` in this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, *argv: str) -> None:
        command = [str(self._bin / argv[0]), *argv[1:]]
        if self._as_user:
            command = ["runuser", "-u", OS_USER, "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({process.returncode}):\n{output.decode()}")

    async def create(self) -> None:
        """initdb, then start."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            user = pwd.getpwnam(OS_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        await self._run(
            "initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        await self.start()

    async def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            # A drill's cluster: durability against a crashed server, not against a lost machine.
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        await self._run("pg_ctl", "-D", str(self._data), "-l", str(self._log), "-o", options, "-w", "start")

    async def stop(self, mode: str = "fast") -> None:
        await self._run("pg_ctl", "-D", str(self._data), "-m", mode, "-w", "stop")

    async def crash(self) -> None:
        """Stop at once, as a crash would (no checkpoint; connections cut)."""
        await self.stop(STOP_MODE)

    def log_tail(self, chars: int = 4000) -> str:
        return self._log.read_text(errors="replace")[-chars:] if self._log.exists() else ""
