"""The publisher's payouts, payout settings and earnings report."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/publisher/payouts", tags=["publisher"])
