"""Reviews of modules, votes and abuse reports."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/marketplace", tags=["reviews"])
