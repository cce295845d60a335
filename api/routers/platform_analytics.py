"""Platform analytics for admins."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin/marketplace/analytics", tags=["admin"])
