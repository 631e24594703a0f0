"""How activities fail: business failures and failures caused by their input are final.

A domain error (``MicrocredError``) becomes a non-retryable ``ApplicationError`` typed by its
class name, which a workflow turns back into the same error (see ``errors.rebuild``). A value the
database cannot store (NUL in text, a lone surrogate, a value too long for its column) fails the
same way, as ``InvalidData``: retrying it would fail for ever, holding up the workflow that waits
for it. Everything else (a dropped connection, a timeout) is retried by the activity's policy.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from microcred.errors import MicrocredError

DATA_ERRORS: tuple[type[BaseException], ...] = (sqlalchemy.exc.DataError, UnicodeEncodeError)


def business_failure(error: MicrocredError) -> ApplicationError:
    """The non-retryable ApplicationError a workflow turns back into ``error`` (see errors.rebuild)."""
    return ApplicationError(error.message, error.extra, type=type(error).__name__, non_retryable=True)


def data_failure(error: BaseException) -> ApplicationError:
    # The driver's message names the problem, never the value (no member's text in the history).
    reason = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
    return ApplicationError(f"the data cannot be stored: {reason}", type="InvalidData", non_retryable=True)


class _FinalDataErrors(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except DATA_ERRORS as error:
            activity.logger.error("activity failed on its data, not retried: %s", error)
            raise data_failure(error) from error


class FinalDataErrors(Interceptor):
    """Worker interceptor: an activity that fails on the data it was given fails non-retryably."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _FinalDataErrors(next)
