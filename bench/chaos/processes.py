"""The processes the drill kills: each restartable on the same port and files, in a process
group of its own, so SIGKILL reaches all of it and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 120.0


@dataclass
class Restartable:
    """One child: ``start`` runs it (and waits until ``ready``), ``kill`` sends SIGKILL."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], Awaitable[bool]]
    cwd: Path | None = None
    process: asyncio.subprocess.Process | None = None
    exits: list[int] = field(default_factory=list)  # exit codes of the times it ended on its own

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=out, start_new_session=True
            )
        await self.until_ready()

    async def until_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
        while not await self._answers():
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"the {self.name} exited while starting:\n{self.tail()}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the {self.name} did not start in {READY_TIMEOUT:.0f} s:\n{self.tail()}")
            await asyncio.sleep(0.2)

    async def _answers(self) -> bool:
        try:
            return await self.ready()
        except Exception:  # not up yet: whatever the readiness check met, it is asked again
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        """SIGKILL to its whole process group; no chance to clean up."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def revive_if_dead(self) -> bool:
        """Start it again if it ended on its own (counted); whether it had."""
        if self.process is None or self.process.returncode is None:
            return False
        self.exits.append(self.process.returncode)
        await self.start()
        return True

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if not self.running:
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            await self.kill()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
