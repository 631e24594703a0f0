"""The browser tests (Playwright, frontend/e2e/): each spec drives a real ``microcred dev`` stack
in Debian's Chromium and checks every screen with axe-core. Screenshots of each screen are
written to frontend/test-results/screens/ on every run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.web.support import FRONTEND, node_environment, npx

CHROMIUM = Path("/usr/bin/chromium")
SPECS = sorted(p.name for p in (FRONTEND / "e2e").glob("*.spec.ts"))


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS)
def test_browser(spec: str) -> None:
    assert CHROMIUM.exists(), "the browser tests need Debian's chromium package (.ci/run installs it)"
    assert (FRONTEND / "dist" / "index.html").exists(), "the web app is not built: run make test"
    env = node_environment() | {"MICROCRED_BIN": str(Path(sys.executable).parent / "microcred")}
    result = npx("playwright", "test", f"e2e/{spec}", timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
