"""Domain errors: raised by services and workflows, mapped to HTTP in ``api/errors.py``.

    MicrocredError                      code, message, extra fields of the error body
    ├── Unauthenticated                 401  no token, a bad token, an expired token
    ├── NotFound                        404
    ├── Forbidden                       403  NotAssigned, NotEligible
    ├── Conflict                        409  AlreadyExists, AlreadyEnrolled, AlreadyEarned,
    │                                        InvalidState, NotEditable, AlreadyClaimed,
    │                                        VersionConflict, CredentialRetired
    ├── Unprocessable                   422  TermsNotAgreed, TasksIncomplete, RubricIncomplete,
    │                                        RubricInconsistent, InvalidCatalog, InvalidRequest,
    │                                        EvidenceNotAccepted, EvidenceTypeRefused, EvidenceMismatch,
    │                                        EvidenceTooMany, UploadIncomplete
    ├── TooLarge                        413  EvidenceTooLarge, EvidenceQuotaExceeded
    ├── BadWebhook                      400
    ├── RateLimited                     429  too many writes; ``retry_after`` seconds
    └── Unavailable                     503  the lifecycle engine cannot be reached

Workflows raise the same errors across the Temporal boundary as ``ApplicationError`` whose
``type`` is the class name and whose first detail is ``extra``; ``from_application_error``
turns them back into these classes on the client side. This module imports nothing heavy so
the workflow sandbox can pass it through.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MicrocredError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class Unauthenticated(MicrocredError):
    code = "unauthenticated"


class NotFound(MicrocredError):
    code = "not_found"


class Forbidden(MicrocredError):
    code = "forbidden"


class NotAssigned(Forbidden):
    code = "not_assigned"


class NotEligible(Forbidden):
    code = "not_eligible"


class Conflict(MicrocredError):
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class AlreadyEnrolled(Conflict):
    code = "already_enrolled"


class AlreadyEarned(Conflict):
    code = "already_earned"


class InvalidState(Conflict):
    code = "invalid_state"


class NotEditable(Conflict):
    code = "not_editable"


class AlreadyClaimed(Conflict):
    code = "already_claimed"


class VersionConflict(Conflict):
    code = "version_conflict"


class CredentialRetired(Conflict):
    code = "credential_retired"


class Unprocessable(MicrocredError):
    code = "unprocessable"


class TermsNotAgreed(Unprocessable):
    code = "terms_not_agreed"


class TasksIncomplete(Unprocessable):
    code = "tasks_incomplete"


class RubricIncomplete(Unprocessable):
    code = "rubric_incomplete"


class RubricInconsistent(Unprocessable):
    code = "rubric_inconsistent"


class InvalidCatalog(Unprocessable):
    code = "invalid_catalog"


class InvalidRequest(Unprocessable):
    code = "invalid_request"


class InvalidText(Unprocessable):
    """A control character (or a lone surrogate) in text: see ``microcred.text``."""

    code = "invalid_text"


class EvidenceNotAccepted(Unprocessable):
    """The task takes text only (its catalog entry declares no ``evidence``)."""

    code = "evidence_not_accepted"


class EvidenceTypeRefused(Unprocessable):
    """A media type the task does not accept, or content that is not what it was declared to be."""

    code = "evidence_type_refused"


class EvidenceMismatch(Unprocessable):
    """The stored bytes are not the declared size or SHA-256."""

    code = "evidence_mismatch"


class EvidenceTooMany(Unprocessable):
    code = "evidence_too_many"


class UploadIncomplete(Unprocessable):
    """Completion asked before every byte (every part) arrived."""

    code = "upload_incomplete"


class TooLarge(MicrocredError):
    code = "too_large"


class EvidenceTooLarge(TooLarge):
    code = "evidence_too_large"


class EvidenceQuotaExceeded(TooLarge):
    code = "evidence_quota_exceeded"


class BadWebhook(MicrocredError):
    code = "bad_webhook"


class RateLimited(MicrocredError):
    code = "rate_limited"


class Unavailable(MicrocredError):
    """Try again: a dependency is down, or the enrolment is busy (the HTTP answer says when)."""

    code = "unavailable"
    retry_after_seconds = 5


def _all_subclasses(cls: type[MicrocredError]) -> list[type[MicrocredError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


BY_TYPE_NAME: dict[str, type[MicrocredError]] = {c.__name__: c for c in _all_subclasses(MicrocredError)}


def rebuild(type_name: str | None, message: str, details: tuple[Any, ...]) -> MicrocredError | None:
    """The domain error an ``ApplicationError`` of this type and details stands for, if any."""
    cls = BY_TYPE_NAME.get(type_name or "")
    if cls is None:
        return None
    extra = details[0] if details and isinstance(details[0], dict) else {}
    return cls(message, **extra)
