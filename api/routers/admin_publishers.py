"""Publisher management for admins: list, verify, suspend, reinstate."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin/marketplace/publishers", tags=["admin"])
