"""Register microcred's search attributes on a namespace (idempotent); see whether a worker polls."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType, TaskQueueKind, TaskQueueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.service import RPCError, RPCStatusCode

from microcred.temporal.names import EVIDENCE_SWEEP_SCHEDULE, EVIDENCE_SWEEP_WORKFLOW, SEARCH_ATTRIBUTES

SWEEP_EVERY = timedelta(hours=1)

_INDEXED = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the attributes the namespace lacks; returns the names added."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as error:
        if error.status is not RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        known = set()
    missing = {
        key.name: _INDEXED[key.indexed_value_type] for key in SEARCH_ATTRIBUTES if key.name not in known
    }
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as error:
            if error.status is not RPCStatusCode.ALREADY_EXISTS:
                raise
    return sorted(missing)


async def schedule_sweeps(client: Client, *, task_queue: str) -> bool:
    """The hourly sweep of stale evidence uploads (``workflows/sweep.py``); returns whether it
    was created now (an existing schedule is kept as it is)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            EVIDENCE_SWEEP_WORKFLOW, id=f"{EVIDENCE_SWEEP_SCHEDULE}-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=SWEEP_EVERY)]),
    )
    try:
        await client.create_schedule(EVIDENCE_SWEEP_SCHEDULE, schedule)
    except ScheduleAlreadyRunningError:
        return False
    return True


def dev_server_args(
    *,
    port: int,
    db_file: Path | None,
    namespace: str = "default",
    ui: tuple[str, int] | None = None,
    log_level: str = "warn",
) -> list[str]:
    """Arguments of ``temporal server start-dev`` as ``microcred dev`` runs it (and the benchmarks).

    Persisting to ``db_file`` with WAL and normal sync: in its default rollback-journal mode with
    full sync the dev server's SQLite file halves its throughput (measured in ``bench/``).
    """
    args = ["server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--namespace", namespace]
    if db_file is not None:
        args += ["--db-filename", str(db_file)]
        args += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    if ui is None:
        args += ["--headless"]
    else:
        args += ["--ui-ip", ui[0], "--ui-port", str(ui[1]), "--ui-disable-news-fetch"]
    return [*args, "--log-level", log_level, *cli_flags()]


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    kinds = {
        SearchAttributeIndexedValueType.KEYWORD: "Keyword",
        SearchAttributeIndexedValueType.DATETIME: "Datetime",
        SearchAttributeIndexedValueType.BOOL: "Bool",
    }
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type]}"]
    return flags


async def worker_polling(client: Client, task_queue: str) -> bool:
    """Whether some worker polls ``task_queue`` for both workflow and activity tasks."""
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=kind,
            )
        )
        if not described.pollers:
            return False
    return True
