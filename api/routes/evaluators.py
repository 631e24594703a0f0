"""Evaluator registration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AdminDep, SessionDep
from api.schemas import EvaluatorPublic, EvaluatorUpdate
from microcred.identity import SUBJECT_MAX
from microcred.services import people

router = APIRouter(tags=["evaluators"])


@router.put("/evaluators/{sub}", response_model=EvaluatorPublic)
def register_evaluator(
    sub: Annotated[str, Path(max_length=SUBJECT_MAX)], body: EvaluatorUpdate, session: SessionDep, _: AdminDep
) -> EvaluatorPublic:
    """Register (or update) an evaluator for some credentials, or for all with an empty list."""
    with session.begin():
        evaluator, credential_ids = people.register_evaluator(
            session,
            evaluator_id=sub,
            name=body.name,
            email=str(body.email),
            credential_ids=body.credential_ids,
        )
    return EvaluatorPublic(
        id=evaluator.id,
        name=evaluator.name,
        email=evaluator.email,
        credential_ids=credential_ids,
        all_credentials=evaluator.all_credentials,
    )
