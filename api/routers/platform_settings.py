"""Platform settings for admins, every change audited."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin/marketplace/settings", tags=["admin"])
