"""Payout runs for admins: list, trigger or backfill a month."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin/marketplace/payouts", tags=["admin"])
