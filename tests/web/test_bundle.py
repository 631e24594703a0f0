"""The app starts fast: its initial JavaScript (the entry script and the modules it preloads,
gzipped) stays within 250 KiB; every screen beyond the first loads when it is opened."""

from __future__ import annotations

from bench.webapp import BUDGET_KIB, initial_javascript
from tests.web.support import FRONTEND


def test_the_initial_javascript_stays_within_its_budget() -> None:
    assert (FRONTEND / "dist" / "index.html").exists(), "the web app is not built: run make test"
    measured = initial_javascript()
    assert measured["files_gzip_kib"], "index.html names no script"
    assert measured["total_gzip_kib"] <= BUDGET_KIB, measured
