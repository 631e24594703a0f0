"""``microcred setup`` run again and again, as a deploy runs it: it must always exit 0.

Issue 17, fault 9: it sometimes died at exit (``PyGILState_Release``, SIGABRT, exit 134) after
migrating and registering the search attributes, seen twice in fifteen runs; the compose shape
makes the API and the workers wait for it to complete successfully.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

RUNS = 25

pytestmark = pytest.mark.slow


async def test_setup_always_exits_cleanly(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env |= {
        "MICROCRED_ENVIRONMENT": "test",
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_DATABASE_URL": f"sqlite:///{tmp_path / 'setup.db'}",
        "MICROCRED_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "MICROCRED_LOG_JSON": "false",
    }
    outcomes = []
    for _ in range(RUNS):
        run = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "microcred", "setup"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        outcomes.append(run.returncode)
        assert run.returncode == 0, f"exit {run.returncode} after {len(outcomes)} runs:\n{run.stderr[-3000:]}"
        assert "Fatal Python error" not in run.stderr
        assert "search attributes registered" in run.stderr + run.stdout
    assert outcomes == [0] * RUNS
