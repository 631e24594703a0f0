"""How activities report business failures: non-retryable, typed by the domain error's name."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from microcred.errors import MicrocredError


def business_failure(error: MicrocredError) -> ApplicationError:
    """The non-retryable ApplicationError a workflow turns back into ``error`` (see errors.rebuild)."""
    return ApplicationError(error.message, error.extra, type=type(error).__name__, non_retryable=True)
