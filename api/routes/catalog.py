"""The catalog of micro-credentials."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, PageDep, PrincipalDep, SessionDep
from api.errors import documented
from api.schemas import Page
from microcred.schemas import CredentialDoc
from microcred.services import catalog

router = APIRouter(tags=["catalog"])


@router.get("/credentials", response_model=Page[CredentialDoc], responses=documented(401, 422))
def list_credentials(session: SessionDep, _: PrincipalDep, page: PageDep) -> Page[CredentialDoc]:
    """The published credentials with their sections, tasks, rubric, prices and policies."""
    items, next_cursor = catalog.list_page(session, cursor=page.cursor, limit=page.limit)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/credentials/{credential_id}", response_model=CredentialDoc, responses=documented(401, 404))
def get_credential(credential_id: str, session: SessionDep, _: PrincipalDep) -> CredentialDoc:
    """One credential."""
    return catalog.get(session, credential_id=credential_id)


@router.post(
    "/credentials",
    response_model=CredentialDoc,
    status_code=status.HTTP_201_CREATED,
    responses=documented(401, 403, 409, 422),
)
def publish_credential(doc: CredentialDoc, session: SessionDep, _: AdminDep) -> CredentialDoc:
    """Publish a credential. Its structure is immutable: publish changes under a new id."""
    with session.begin():
        catalog.publish(session, doc=doc)
    return catalog.get(session, credential_id=doc.id)
