"""The web app's API client is generated from the API's OpenAPI document, never written by hand:
these fail when either is stale (``make client`` regenerates both)."""

from __future__ import annotations

import filecmp
from pathlib import Path

from api.openapi import document, dumps
from tests.web.support import FRONTEND, npx


def test_the_committed_openapi_document_is_the_apis() -> None:
    committed = (FRONTEND / "openapi.json").read_text()
    assert committed == dumps(document()), "frontend/openapi.json is stale: run make client"


def differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []
    compared = filecmp.dircmp(left, right)
    found += [f"only in {left.name}: {n}" for n in compared.left_only]
    found += [f"only in {right.name}: {n}" for n in compared.right_only]
    found += [f"differs: {n}" for n in compared.diff_files]
    for name in compared.common_dirs:
        found += differences(left / name, right / name)
    return found


def test_the_committed_client_is_what_openapi_ts_generates(tmp_path: Path) -> None:
    generated = tmp_path / "client"
    result = npx("openapi-ts", "--silent", "--output", str(generated), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    stale = differences(FRONTEND / "src" / "client", generated)
    assert not stale, f"frontend/src/client is stale (run make client): {stale}"
