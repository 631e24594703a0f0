"""Benchmark 6: the upload throughput of a large evidence file.

On ``microcred dev``'s components (the data-folder store, the embedded default): a member's
200 MB PDF goes through the product's whole upload path (hash it, declare it, send its parts
over HTTP to the signed URLs, four at a time, complete: the API joins, re-reads, hashes and
type-checks it), against a plain copy of the same file into the same store's folder. Both
sides run in alternating rounds in one run, so the machine's drift falls on both alike; the
headline is the ratio of their throughputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import drive
from bench.stack import bench_settings, database, dev_stack, temporal_server
from microcred.identity import Role

MB = 1000 * 1000
PARALLEL_PARTS = 4


@dataclass(frozen=True)
class Size:
    megabytes: int
    rounds: int


SIZES = {"tiny": Size(megabytes=24, rounds=2), "full": Size(megabytes=200, rounds=3), "scale": Size(200, 3)}


def _make_file(path: Path, size: int) -> None:
    """A PDF of ``size`` bytes: a real header (the type check reads it), then random bytes."""
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    with path.open("wb") as out:
        out.write(header)
        left = size - len(header)
        block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as source:
        source.seek(offset)
        return source.read(size)


async def _send(http: aiohttp.ClientSession, request: dict[str, Any], body: bytes) -> None:
    async with http.request(request["method"], request["url"], data=body, headers=request["headers"]) as sent:
        if sent.status != 200:
            raise drive.UnexpectedResponse(f"part upload -> {sent.status}: {(await sent.read())[:300]!r}")


async def _product_upload(
    api: drive.Api, http: aiohttp.ClientSession, source: Path, *, size: int, member: str, enrolment_id: str
) -> dict[str, float]:
    """The member's whole upload: hash, declare, send the parts, complete. Seconds per step."""
    began = time.perf_counter()
    digest = await asyncio.to_thread(_sha256, source)
    hashed = time.perf_counter()
    path = f"/enrolments/{enrolment_id}/tasks/plan-1/attachments"
    body = {"filename": "lesson.pdf", "content_type": "application/pdf", "size": size, "sha256": digest}
    plan = await api.call("POST", path, member, Role.MEMBER, 201, json=body)
    parts = (
        plan["multipart"]["parts"] if plan["multipart"] else [{**plan["upload"], "offset": 0, "size": size}]
    )
    gate = asyncio.Semaphore(PARALLEL_PARTS)

    async def one(part: dict[str, Any]) -> None:
        async with gate:
            data = await asyncio.to_thread(_read, source, part["offset"], part["size"])
            await _send(http, part, data)

    await asyncio.gather(*(one(p) for p in parts))
    sent = time.perf_counter()
    done = await api.call("POST", f"{path}/{plan['id']}/complete", member, Role.MEMBER)
    assert done["sha256"] == digest
    completed = time.perf_counter()
    return {
        "hash_s": hashed - began,
        "send_s": sent - hashed,
        "complete_s": completed - sent,
        "total_s": completed - began,
    }


def _plain_copy(source: Path, store: Path) -> float:
    began = time.perf_counter()
    target = store / f"plain-{uuid.uuid4().hex}"
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - began
    target.unlink()
    return elapsed


async def run(size: str = "full") -> dict[str, Any]:
    chosen = SIZES[size]
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "lesson.pdf"
        await asyncio.to_thread(_make_file, source, chosen.megabytes * MB)
        async with temporal_server(workdir) as temporal, database("sqlite", workdir) as url:
            settings = bench_settings(workdir=workdir, database_url=url, temporal=temporal)
            async with (
                dev_stack(settings, temporal, workdir),
                drive.session(settings.public_base_url, connections=PARALLEL_PARTS + 2) as http,
            ):
                api = drive.Api(http)
                credential_id = f"bench-{uuid.uuid4().hex[:8]}"
                doc = drive.credential_doc(credential_id)
                doc["sections"][0]["tasks"][0]["evidence"] = {
                    "accept": ["application/pdf"],
                    "max_files": 5,
                    "max_bytes": 2 * 1024 * MB,
                }
                await api.call("POST", "/credentials", "bench-admin", Role.ADMIN, 201, json=doc)
                member = f"member-{uuid.uuid4().hex[:12]}"
                created = await api.enrol(member, credential_id)
                enrolment_id = str(created["id"])
                await api.pay(created["checkout_session_id"])
                await api.until_status(member, enrolment_id, "in_progress")
                store = settings.data_dir / "evidence" / "tmp"  # the store's own folder, same disk
                store.mkdir(parents=True, exist_ok=True)
                product: list[dict[str, float]] = []
                plain: list[float] = []
                for _ in range(chosen.rounds):
                    plain.append(await asyncio.to_thread(_plain_copy, source, store))
                    product.append(
                        await _product_upload(
                            api,
                            http,
                            source,
                            size=chosen.megabytes * MB,
                            member=member,
                            enrolment_id=enrolment_id,
                        )
                    )
                    # The next round is a new file of the task: make room (max_files).
                    await _remove_all(api, member, enrolment_id)
    megabytes = chosen.megabytes
    product_rate = [megabytes / p["total_s"] for p in product]
    plain_rate = [megabytes / s for s in plain]
    return {
        "description": f"a {megabytes} MB PDF through the product's upload path (hash, declare, "
        f"{PARALLEL_PARTS} parts at a time over HTTP to the data-folder store's signed URLs, complete: "
        "join, re-read, hash, type check) against a plain copy into the same store's folder",
        "megabytes": megabytes,
        "part_mib": settings.evidence_part_bytes // (1024 * 1024),
        "product_mb_per_s": round(statistics.median(product_rate), 1),
        "plain_copy_mb_per_s": round(statistics.median(plain_rate), 1),
        "ratio_product_to_plain": round(statistics.median(product_rate) / statistics.median(plain_rate), 3),
        "ratio_by_round": [round(p / c, 3) for p, c in zip(product_rate, plain_rate, strict=True)],
        "product_seconds_by_step": {
            step: round(statistics.median(p[step] for p in product), 2)
            for step in ("hash_s", "send_s", "complete_s", "total_s")
        },
    }


async def _remove_all(api: drive.Api, member: str, enrolment_id: str) -> None:
    detail = await api.call("GET", f"/enrolments/{enrolment_id}", member, Role.MEMBER)
    for section in detail["sections"]:
        for task in section["tasks"]:
            for attachment in task["attachments"]:
                path = f"/enrolments/{enrolment_id}/tasks/{task['id']}/attachments/{attachment['id']}"
                await api.call("DELETE", path, member, Role.MEMBER, 204)
