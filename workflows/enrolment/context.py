"""The enrolment as its workflow holds it, and the moves every part of the workflow makes with
it: change the status (only through the lifecycle's table), record a change in the read model
and the timeline, queue a notification, alert the admins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import activities
from workflows.enrolment import visibility

with workflow.unsafe.imports_passed_through():
    from microcred import lifecycle
    from microcred.contracts import (
        Audience,
        CredentialOutline,
        EnrolmentInput,
        EnrolmentState,
        EnrolmentView,
        EventKind,
        NotificationKind,
        NotifyInput,
        RecordInput,
        TimelineEvent,
    )
    from microcred.errors import MicrocredError
    from microcred.lifecycle import Trigger

SYSTEM = "system"


def rejection(error: MicrocredError) -> ApplicationError:
    """A domain error as the failure of one update (never of the workflow)."""
    return ApplicationError(error.message, error.extra, type=type(error).__name__, non_retryable=True)


def rejected(rule: Callable[..., None], *args: Any) -> None:
    """Run a rule in a validator: the domain error it raises refuses the update."""
    try:
        rule(*args)
    except MicrocredError as error:
        raise rejection(error) from None


class Enrolment:
    def __init__(self, inp: EnrolmentInput) -> None:
        self.id = inp.enrolment_id
        self.member = inp.member_id
        self.credential: CredentialOutline = inp.credential
        self.state: EnrolmentState = inp.state.model_copy(deep=True) if inp.state else EnrolmentState()
        # Bumped on every change, so the run loop wakes and looks again at what is due.
        self.changes = 0

    # --- the status -------------------------------------------------------------------------

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """A change that fails (an activity that gave up, a rule that refused) leaves the state
        as it was before it began, but for what signals noted meanwhile: nothing half-done
        stays behind, and the step can simply be tried again."""
        before = self.state.model_copy(deep=True)
        try:
            yield
        except BaseException:
            before.arrivals = self.state.arrivals
            self.state = before
            raise

    def move(self, trigger: Trigger, state: EnrolmentState | None = None) -> None:
        """Change the status: the one place the workflow does, by the lifecycle's table.

        ``state`` is a next state still waiting for the store to accept it (a submission).
        """
        target = self.state if state is None else state
        target.status = lifecycle.move(target.status, trigger)

    # --- recording ----------------------------------------------------------------------------

    def view(self, state: EnrolmentState | None = None) -> EnrolmentView:
        return visibility.view(self.id, state or self.state)

    def event(self, kind: EventKind, actor: str | None, /, **detail: Any) -> TimelineEvent:
        return TimelineEvent(kind=kind, at=workflow.now(), actor=actor or SYSTEM, detail=detail)

    async def record(self, kind: EventKind, /, actor: str | None = None, **detail: Any) -> None:
        """Write the read model and one timeline event for the state as it is now."""
        await self.record_event(self.event(kind, actor, **detail))

    async def record_event(self, event: TimelineEvent) -> None:
        self.state.seq += 1
        await activities.record(RecordInput(view=self.view(), event=event))
        self.observe(event)
        self.changed()

    def observe(self, event: TimelineEvent) -> None:
        visibility.observe(self.id, self.credential.id, self.state, event)

    def changed(self) -> None:
        self.changes += 1
        visibility.publish(self.member, self.credential, self.state)

    # --- telling people -----------------------------------------------------------------------

    def notify(
        self,
        kind: NotificationKind,
        audience: Audience,
        recipient_id: str | None,
        key: str,
        /,
        **context: Any,
    ) -> None:
        """Queue a notification; the run loop records it (never holding up a message's answer)."""
        self.state.outbox.append(
            NotifyInput(
                key=f"{self.id}:{key}",
                kind=kind,
                audience=audience,
                recipient_id=recipient_id,
                enrolment_id=self.id,
                at=workflow.now(),
                context={"credential_title": self.credential.title, "attempt": self.state.attempt, **context},
            )
        )

    def tell_member(self, kind: NotificationKind, key: str, /, **context: Any) -> None:
        self.notify(kind, Audience.MEMBER, self.member, key, **context)

    def alert_admins(self, key: str, *, subject: str, message: str) -> None:
        """Queue an operator alert: something the admins must look at or do by hand."""
        self.notify(
            NotificationKind.OPERATOR_ALERT, Audience.ADMINS, None, key, subject=subject, message=message
        )

    async def send_notifications(self) -> None:
        """Record the queued notifications in order (handlers may queue more meanwhile)."""
        while self.state.outbox:
            await activities.notify(self.state.outbox[0])
            self.state.outbox.pop(0)
