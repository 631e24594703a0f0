"""The web app: its initial JavaScript, and how soon My Learning shows a member's rows.

The initial JavaScript is what the browser must fetch before the app can start: the entry
script of ``frontend/dist/index.html`` and the modules it preloads (gzipped, as served). The
time to rows is measured in Debian's Chromium against ``microcred dev``'s two processes on
SQLite, for a member with 50 enrolments: from navigation start until the table holds every
row, on a first visit (nothing cached) and on a reload.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import statistics
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import drive
from bench.stack import PROJECT_ROOT, bench_settings, database, dev_stack, temporal_server, token
from microcred.identity import Role

FRONTEND = PROJECT_ROOT / "frontend"
NODE_BIN = Path(sys.executable).parent  # the Node.js that make installs into .venv

BUDGET_KIB = 250


@dataclass(frozen=True)
class Size:
    enrolments: int
    visits: int


SIZES = {"tiny": Size(enrolments=3, visits=1), "full": Size(enrolments=50, visits=7)}
SIZES["scale"] = SIZES["full"]


def initial_javascript(dist: Path = FRONTEND / "dist") -> dict[str, Any]:
    """The entry script and its preloaded modules, each gzipped, in KiB."""
    index = (dist / "index.html").read_text()
    paths = re.findall(r'<script type="module"[^>]* src="/([^"]+)"', index)
    paths += re.findall(r'<link rel="modulepreload"[^>]* href="/([^"]+)"', index)
    files = {path: round(len(gzip.compress((dist / path).read_bytes(), 9)) / 1024, 1) for path in paths}
    return {
        "files_gzip_kib": files,
        "total_gzip_kib": round(sum(files.values()), 1),
        "budget_kib": BUDGET_KIB,
    }


async def _first_rows(base_url: str, member: str, rows: int, visits: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        str(NODE_BIN / "node"),
        "bench/first-rows.mjs",
        base_url,
        token(member, Role.MEMBER),
        str(rows),
        str(visits),
        cwd=FRONTEND,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"first-rows.mjs failed: {err.decode()[-3000:]}")
    times: dict[str, list[float]] = json.loads(out)
    return {
        name.removesuffix("_ms"): {
            "median_ms": round(statistics.median(values)),
            "runs_ms": [round(v) for v in values],
        }
        for name, values in times.items()
    }


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    assert (FRONTEND / "dist" / "index.html").exists(), "build the app first: make web"
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        async with temporal_server(workdir) as temporal, database("sqlite", workdir) as url:
            settings = bench_settings(workdir=workdir, database_url=url, temporal=temporal)
            async with (
                dev_stack(settings, temporal, workdir),
                drive.session(settings.public_base_url, connections=8) as http,
            ):
                api = drive.Api(http)
                member = f"member-{uuid.uuid4().hex[:8]}"
                for _ in range(chosen.enrolments):
                    credential_id = f"bench-{uuid.uuid4().hex[:8]}"
                    await api.setup(credential_id, f"evaluator-{uuid.uuid4().hex[:8]}")
                    await api.enrol(member, credential_id)
                timings = await _first_rows(
                    settings.public_base_url, member, chosen.enrolments, chosen.visits
                )
    return {
        "initial_javascript": initial_javascript(),
        "my_learning_rows": {"rows": chosen.enrolments, "visits": chosen.visits, **timings},
    }
