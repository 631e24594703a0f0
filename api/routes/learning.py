"""The signed-in person's own lists: My Learning and notifications."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import MemberDep, PageDep, PrincipalDep, ReadSessionDep, StateDep
from api.errors import documented
from api.schemas import LearningItem, NotificationPublic, Page
from microcred.identity import Role
from microcred.services import learning

router = APIRouter(tags=["me"])


@router.get("/me/learning", response_model=Page[LearningItem], responses=documented(401, 403, 422))
def my_learning(
    session: ReadSessionDep, state: StateDep, member: MemberDep, page: PageDep
) -> Page[LearningItem]:
    """My Learning: every enrolment, newest first, with its status, dates, decision, community and badge."""
    items, next_cursor = learning.my_learning(
        session,
        member_id=member.sub,
        api_base_url=state.settings.api_base_url,
        cursor=page.cursor,
        limit=page.limit,
    )
    return Page(items=[LearningItem.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/me/notifications", response_model=Page[NotificationPublic], responses=documented(401, 422))
def my_notifications(
    session: ReadSessionDep, caller: PrincipalDep, page: PageDep
) -> Page[NotificationPublic]:
    """Notifications, newest first (admins also see the escalations sent to all admins)."""
    rows, next_cursor = learning.notifications(
        session, person_id=caller.sub, admin=caller.role is Role.ADMIN, cursor=page.cursor, limit=page.limit
    )
    return Page(
        items=[NotificationPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
