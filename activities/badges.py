"""Badge activities (Open Badges 3.0). Being written: see issue 5."""

from __future__ import annotations

from temporalio import activity

from microcred.badges import BadgeIssuer
from microcred.contracts import BadgeInput, BadgeResult
from microcred.db import SessionFactory


class BadgeActivities:
    def __init__(self, sessions: SessionFactory, issuer: BadgeIssuer) -> None:
        self._sessions = sessions
        self._issuer = issuer

    @activity.defn(name="badges.issue")
    def issue_badge(self, inp: BadgeInput) -> BadgeResult:
        raise NotImplementedError("issue 5")
