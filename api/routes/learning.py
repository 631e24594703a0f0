"""The signed-in person's own lists: My Learning and notifications."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import MemberDep, PrincipalDep, SessionDep, StateDep
from api.schemas import LearningItem, NotificationPublic, Page
from microcred.identity import Role
from microcred.services import learning

router = APIRouter(tags=["me"])


@router.get("/me/learning", response_model=Page[LearningItem])
def my_learning(session: SessionDep, state: StateDep, member: MemberDep) -> Page[LearningItem]:
    """My Learning: every enrolment with its status, dates, decision, community and badge."""
    items = learning.my_learning(session, member_id=member.sub, api_base_url=state.settings.api_base_url)
    return Page(items=[LearningItem.model_validate(i) for i in items])


@router.get("/me/notifications", response_model=Page[NotificationPublic])
def my_notifications(session: SessionDep, caller: PrincipalDep) -> Page[NotificationPublic]:
    """Notifications, newest first (admins also see the escalations sent to all admins)."""
    rows = learning.notifications(session, person_id=caller.sub, admin=caller.role is Role.ADMIN)
    return Page(items=[NotificationPublic.model_validate(r, from_attributes=True) for r in rows])
