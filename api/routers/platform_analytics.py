"""Platform analytics for admins: downloads, views, orders, refunds, commission, new
publishers and new modules, per bucket of a period and in total."""

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep
from api.schemas.analytics import PlatformOut, ReportPeriod, report_out
from services import analytics

router = APIRouter(prefix="/api/v1/admin/marketplace/analytics", tags=["admin"])


@router.get("", response_model=PlatformOut)
async def platform_analytics(
    admin: AdminPrincipal, session: SessionDep, period: ReportPeriod
) -> PlatformOut:
    """Orders count when paid (refunded ones included), refunds when completed, commission
    when booked in the ledger (net of reversals); amounts per currency."""
    report = await analytics.platform(session, period)
    return report_out(PlatformOut, report)
