"""The catalog of micro-credentials."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from api.deps import AdminDep, PageDep, PrincipalDep, SessionDep
from api.errors import documented
from api.schemas import AdminReason, Page
from microcred.documents import CredentialDoc, CredentialPublic
from microcred.identity import Role
from microcred.services import catalog

router = APIRouter(tags=["catalog"])


@router.get("/credentials", response_model=Page[CredentialPublic], responses=documented(401, 422))
def list_credentials(session: SessionDep, caller: PrincipalDep, page: PageDep) -> Page[CredentialPublic]:
    """The published credentials with their sections, tasks, rubric, prices and policies.

    Retired credentials are listed to admins only (with ``retired_at``)."""
    items, next_cursor = catalog.list_page(
        session, include_retired=caller.role is Role.ADMIN, cursor=page.cursor, limit=page.limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/credentials/{credential_id}", response_model=CredentialPublic, responses=documented(401, 404))
def get_credential(credential_id: str, session: SessionDep, _: PrincipalDep) -> CredentialPublic:
    """One credential, retired or not (its running enrolments still refer to it)."""
    return catalog.get(session, credential_id=credential_id)


@router.post(
    "/credentials",
    response_model=CredentialPublic,
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 403, 409, 422),
)
def publish_credential(doc: CredentialDoc, session: SessionDep, _: AdminDep) -> CredentialPublic:
    """Publish a credential. Its structure is immutable: publish changes under a new id.

    A rule broken across fields (a payment window out of bounds, an id used twice, an unknown
    currency) is a 422 whose ``loc`` names the field it is about."""
    with session.begin():
        catalog.publish(session, doc=doc)
    return catalog.get(session, credential_id=doc.id)


@router.post(
    "/credentials/{credential_id}/retirement",
    response_model=CredentialPublic,
    responses=documented(401, 403, 404, 422),
)
def retire_credential(
    credential_id: str, body: AdminReason, session: SessionDep, admin: AdminDep
) -> CredentialPublic:
    """Retire a credential: it can no longer be bought (409 ``credential_retired``) and leaves the
    catalog of members and evaluators; enrolments already running go on untouched. Retiring it
    again keeps the first retirement."""
    with session.begin():
        return catalog.retire(
            session, credential_id=credential_id, actor=admin.sub, reason=body.reason, now=datetime.now(UTC)
        )
