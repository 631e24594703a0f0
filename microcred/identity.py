"""Who is calling: the verified claims of a bearer token."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Role(StrEnum):
    MEMBER = "member"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


class Principal(BaseModel):
    sub: str
    role: Role
    email: str | None = None
    name: str | None = None
