"""The catalog of micro-credentials."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminDep, PrincipalDep, SessionDep
from api.schemas import Page
from microcred.schemas import CredentialDoc
from microcred.services import catalog

router = APIRouter(tags=["catalog"])


@router.get("/credentials", response_model=Page[CredentialDoc])
def list_credentials(session: SessionDep, _: PrincipalDep) -> Page[CredentialDoc]:
    """Every published credential with its sections, tasks, rubric, prices and policies."""
    return Page(items=catalog.list_all(session))


@router.get("/credentials/{credential_id}", response_model=CredentialDoc)
def get_credential(credential_id: str, session: SessionDep, _: PrincipalDep) -> CredentialDoc:
    """One credential."""
    return catalog.get(session, credential_id=credential_id)


@router.post("/credentials", response_model=CredentialDoc, status_code=status.HTTP_201_CREATED)
def publish_credential(doc: CredentialDoc, session: SessionDep, _: AdminDep) -> CredentialDoc:
    """Publish a credential. Its structure is immutable: publish changes under a new id."""
    with session.begin():
        catalog.publish(session, doc=doc)
    return catalog.get(session, credential_id=doc.id)
