"""Badge activities: issue the Open Badges 3.0 credential of an approved enrolment.

Synchronous (SQLModel sessions block), so the worker runs it on its thread pool. Idempotent: the
badge id is derived from the approved submission (see ``microcred.badges.badge_id_for``) and an
enrolment holds at most one badge, so a retried or duplicated attempt returns the badge already
stored instead of signing a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from microcred.badges import BadgeIssuer
from microcred.contracts import BadgeInput, BadgeResult
from microcred.db import SessionFactory, one_statement, transaction
from microcred.errors import MicrocredError
from microcred.services import badges


class BadgeActivities:
    def __init__(self, sessions: SessionFactory, issuer: BadgeIssuer) -> None:
        self._sessions = sessions
        self._issuer = issuer
        self._key_recorded: str | None = None  # the kid this worker has seen stored

    @activity.defn(name="badges.issue")
    def issue_badge(self, inp: BadgeInput) -> BadgeResult:
        """Sign and store the badge of the approved attempt once; a retry returns the same badge."""
        self._record_key()
        # Dated at the approval, but never later than the signature: a verifier compares validFrom
        # with its own clock, and a workflow clock ahead of this one must not yield a badge that is
        # not valid yet.
        valid_from = min(inp.at, datetime.now(UTC))
        try:
            # Reads, then the badge's insert: a single write (see db.one_statement).
            with one_statement(self._sessions) as session:
                badge = badges.issue(
                    session,
                    issuer=self._issuer,
                    enrolment_id=inp.enrolment_id,
                    attempt=inp.attempt,
                    valid_from=valid_from,
                )
                return BadgeResult(badge_id=badge.id)
        except IntegrityError:
            # A concurrent attempt of this activity stored the badge first: that badge is the badge.
            with self._sessions() as session:
                existing = badges.find(session, enrolment_id=inp.enrolment_id)
            if existing is None:
                raise
            return BadgeResult(badge_id=existing.id)
        except MicrocredError as exc:
            # The workflow only asks once the decision is stored, so this is an inconsistency for an
            # operator to repair. Retryable on purpose: failing the activity for good would fail the
            # whole enrolment workflow, while a retry issues the badge as soon as the data is fixed.
            raise ApplicationError(exc.message, exc.extra, type=type(exc).__name__) from exc

    def _record_key(self) -> None:
        """Publish the signing key's public half before anything is signed with it (once per
        worker and key: a stored key is never removed)."""
        if self._key_recorded == self._issuer.kid:
            return
        try:
            with transaction(self._sessions) as session:
                badges.record_key(session, issuer=self._issuer)
        except IntegrityError:
            pass  # another worker recorded the same key at the same moment
        self._key_recorded = self._issuer.kid
