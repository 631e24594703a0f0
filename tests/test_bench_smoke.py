"""Every benchmark at ``tiny`` size, so none of them can rot: the JSON has its shape and sane values.

Benchmarks are not tests (``make test`` never runs them at full size); these only prove that each
still runs end to end against the real processes and reports what the README quotes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench import evidence, history, learning, lifecycle, waiting, webapp

pytestmark = pytest.mark.slow


def _latency(figures: dict[str, Any]) -> None:
    assert figures["count"] > 0
    assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]


async def test_lifecycle_tiny() -> None:
    result = await lifecycle.run("tiny")
    plan = result["matching"]["plan"]
    product = result["matching"]["product_history"]
    assert plan["activities"] == product["activities"] > 0
    assert product["signals"] == 1 and set(product["updates_by_name"]) == {"checkout", "submit", "decide"}
    assert result["bare"]["history"]["activities"] == product["activities"]
    rounds = lifecycle.SIZES["tiny"].rounds
    for side in ("bare", "sqlite", "postgres"):
        assert result[side]["lifecycles_per_s"] > 0
        _latency(result[side]["lifecycle_latency_ms"])
        assert len(result[side]["rounds_lifecycles_per_s"]) == rounds
        assert result[side]["lifecycles"] == rounds * lifecycle.SIZES["tiny"].lifecycles
    for db in ("sqlite", "postgres"):
        assert result[f"ratio_{db}_to_bare"] > 0
        assert len(result["ratio_by_round"][db]) == rounds
        assert result[f"cpu_ratio_{db}_to_bare"] > 0
        assert set(result[db]["cpu_ms_per_lifecycle"]) == {"worker", "api", "temporal_server", "driver"}
        assert (
            result[db]["cpu_ms_per_lifecycle"]["worker"] > 0 and result[db]["cpu_ms_per_lifecycle"]["api"] > 0
        )
        for process in ("worker", "api"):
            assert result[db]["process_memory"][process]["rss_mib"] > 0
    assert result["target_ratio"] == 0.5
    postgres = result["postgres"]
    if "statements_per_lifecycle" in postgres:  # where the server's log can be found (bench.statements)
        by_kind = postgres["statements_per_lifecycle_by_kind"]
        assert postgres["statements_per_lifecycle"] == pytest.approx(sum(by_kind.values()), abs=0.5)
        assert by_kind["INSERT notification"] >= 1 and "INSERT task_response" in by_kind
    assert "statements_per_lifecycle" not in result["sqlite"]


async def test_learning_tiny() -> None:
    result = await learning.run("tiny")
    assert result["population"]["enrolments"] == learning.SIZES["tiny"].enrolments
    for endpoint in result["endpoints"].values():
        assert endpoint["requests"] > 0 and endpoint["errors"] == 0 and endpoint["requests_per_s"] > 0
        _latency(endpoint["latency_ms"])
    assert result["endpoints"]["my_learning"]["mean_items"] >= 1
    assert result["endpoints"]["reviews"]["mean_items"] >= 1
    for name in ("my_learning", "reviews"):
        for figure in ("p95", "rps"):
            value = result[f"ratio_{figure}_{name}_to_bare"]
            assert value is not None and value > 0


async def test_waiting_tiny() -> None:
    result = await waiting.run("tiny")
    size = waiting.SIZES["tiny"]
    curve = result["worker_memory_curve"]
    assert [p["open_enrolments"] for p in curve[1:-1]] == list(size.checkpoints)
    assert all(p["rss_mib"] > 0 for p in curve)
    assert result["start_rate_per_s"] > 0
    assert result["max_cached_workflows"] == size.max_cached_workflows
    lag = result["timer_lag"]
    assert lag["cancelled_in_time"] == lag["batch"] == size.batch
    _latency(lag["lag_ms"])


async def test_history_tiny() -> None:
    result = await history.run("tiny")
    resubmitted = result["lifecycle_with_resubmission"]
    assert resubmitted["runs"] == 2  # the second attempt continued as new
    assert resubmitted["events"] > result["lifecycle_first_attempt_approved"]["events"] > 0
    saves = result["task_saves"]
    assert saves["saves"] >= history.SIZES["tiny"].saves
    assert saves["events_added"] == 0
    assert sum(saves["latest_versions"].values()) == saves["saves"]


async def test_webapp_tiny() -> None:
    result = await webapp.run("tiny")
    javascript = result["initial_javascript"]
    assert javascript["total_gzip_kib"] == round(sum(javascript["files_gzip_kib"].values()), 1) > 0
    rows = result["my_learning_rows"]
    assert rows["rows"] == webapp.SIZES["tiny"].enrolments
    for visit in ("first_visit", "cached_visit"):
        assert len(rows[visit]["runs_ms"]) == rows["visits"] and rows[visit]["median_ms"] > 0


async def test_evidence_tiny() -> None:
    result = await evidence.run("tiny")
    assert result["megabytes"] == evidence.SIZES["tiny"].megabytes
    assert len(result["ratio_by_round"]) == evidence.SIZES["tiny"].rounds
    assert result["product_mb_per_s"] > 0 and result["plain_copy_mb_per_s"] > 0
    assert result["ratio_product_to_plain"] > 0
    steps = result["product_seconds_by_step"]
    assert steps["total_s"] >= max(steps["hash_s"], steps["send_s"], steps["complete_s"]) > 0


def test_table_and_json_of_a_run() -> None:
    """The printed table reads every figure of the JSON it summarises."""
    fake = {
        "size": "tiny",
        "history": {
            "lifecycle_with_resubmission": {"events": 200},
            "lifecycle_first_attempt_approved": {"events": 120},
            "task_saves": {"saves": 30, "events_added": 0},
        },
    }
    assert "events added by 30 task saves" in bench_main.table(fake)
    assert json.loads(json.dumps(fake)) == fake
