"""Review moderation: reported reviews, hide and restore, resolving reports."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])
