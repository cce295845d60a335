"""The publisher's analytics: overview, downloads, revenue and reviews over a period."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/publisher/analytics", tags=["publisher"])
