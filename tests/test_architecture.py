"""The layers and the absence of import cycles, by the import-linter contracts in pyproject.toml.

import-linter reads every import, also those inside functions and under ``TYPE_CHECKING`` (where
cycles hide), so a new cycle between the modules or packages of a package, or an import across
the layers (the core importing the API, a workflow reaching the database), fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 7 kept, 0 broken." in run.stdout
