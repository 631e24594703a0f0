"""Small workflows for tests/workflows/test_sandbox.py, in a module of their own because the
sandbox imports a workflow's module afresh for every run."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn
def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class Greeting:
    """An activity with an argument and a result, then an update and a signal: payloads of
    every kind the product's workflows carry."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @workflow.run
    async def run(self, text: str) -> str:
        loud = await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: len(self.names) == 2)
        return f"{loud} {' '.join(self.names)}"

    @workflow.update
    def add(self, name: str) -> int:
        self.names.append(name)
        return len(self.names)

    @workflow.signal
    def add_later(self, name: str) -> None:
        self.names.append(name)


@workflow.defn
class ReadsTheClock:
    """Reads the wall clock, which the sandbox forbids."""

    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()
