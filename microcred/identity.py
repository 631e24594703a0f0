"""Who is calling: the verified claims of a bearer token."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

# A person's id is the token's ``sub``, stored as the Member and Evaluator key (200 characters).
SUBJECT_MAX = 200
Subject = Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX)]


class Role(StrEnum):
    MEMBER = "member"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


class Principal(BaseModel):
    sub: Subject
    role: Role
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
