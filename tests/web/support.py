"""Running the web app's own tools (npm, npx) from the tests, with the Node.js of .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
BIN = Path(sys.executable).parent


def node_environment() -> dict[str, str]:
    """Our environment with .venv/bin first on PATH (its node and npm), no MICROCRED_* settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    return inherited | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def npx(*args: str, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``npx <args>`` in frontend/; its node_modules must be installed (make test does it)."""
    assert (FRONTEND / "node_modules" / ".bin").is_dir(), "frontend/node_modules is missing: run make test"
    binary = shutil.which("npx", path=str(BIN)) or "npx"
    return subprocess.run(
        [binary, *args],
        cwd=FRONTEND,
        env=env or node_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
