"""The publisher's responses to reviews of its modules."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/publisher/reviews", tags=["publisher"])
