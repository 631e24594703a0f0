"""Routes: badges (being written, issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
wellknown = APIRouter()
