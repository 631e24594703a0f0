"""The list queries the manual gives operators (docs/operations.md) are valid on a real Temporal
server."""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def readme_queries() -> list[str]:
    text = OPERATIONS.read_text()
    block = text.split("Useful list queries", 1)[1].split("```", 2)[1]
    queries: list[str] = []
    for line in block.splitlines():
        code = re.sub(r"\s+--.*$", "", line).rstrip()
        if not code:
            continue
        if line.startswith(" ") and queries:
            queries[-1] += " " + code.strip()
        else:
            queries.append(code)
    return queries


async def test_every_readme_query_runs(dev_env: WorkflowEnvironment) -> None:
    queries = readme_queries()
    assert len(queries) == 5
    for query in queries:
        # An invalid query (unknown attribute, bad syntax) raises here.
        [w async for w in dev_env.client.list_workflows(query, limit=1)]
