"""Payout runs for admins: list, trigger or backfill a month, mark a manual payout paid,
retry a failed one. Every action is audited."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AdminPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import INT32_MAX, Page
from api.schemas.payouts import (
    PERIOD_QUERY_PATTERN,
    MarkPaidIn,
    PayoutOut,
    RetryOut,
    RunIn,
    RunOut,
)
from domain.payouts import PayoutStatus
from services import payouts

router = APIRouter(prefix="/api/v1/admin/marketplace/payouts", tags=["admin"])


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut)
async def run_month(
    body: RunIn,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> RunOut:
    """Trigger or backfill a month's payouts (the schedule does it on the 1st at 02:00
    UTC). Only a month that has ended: ``period_not_closed`` otherwise."""
    run = await payouts.run_month(
        session, temporal, body.period, actor_id=principal.user.id, settings=settings
    )
    return RunOut(period=run.period, workflow_id=run.workflow_id, started=run.started)


@router.get("", response_model=Page[PayoutOut])
async def list_payouts(
    principal: AdminPrincipal,
    session: SessionDep,
    status: PayoutStatus | None = None,
    publisher_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_QUERY_PATTERN)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PayoutOut]:
    rows, total = await payouts.listed(
        session,
        status=status,
        publisher_id=publisher_id,
        period=period,
        limit=limit,
        offset=offset,
    )
    return Page(items=[PayoutOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{payout_id}", response_model=PayoutOut)
async def payout_details(
    payout_id: IdPath, principal: AdminPrincipal, session: SessionDep
) -> PayoutOut:
    return PayoutOut.of(await payouts.payout(session, payout_id))


@router.post("/{payout_id}/mark-paid", response_model=PayoutOut)
async def mark_paid(
    payout_id: IdPath, body: MarkPaidIn, principal: AdminPrincipal, session: SessionDep
) -> PayoutOut:
    """Record that a payout was paid outside the system: a manual payout waiting for it,
    or a failed one an admin settled by hand. The publisher is mailed."""
    row = await payouts.mark_paid(
        session, payout_id, reference=body.reference, actor_id=principal.user.id
    )
    return PayoutOut.of(row)


@router.post("/{payout_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=RetryOut)
async def retry_payout(
    payout_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> RetryOut:
    """Send a failed payout again (to the publisher's current payout settings), or restart
    one stuck before its transfer. A transfer the provider refused goes with a new
    idempotency key; one never confirmed with the same key, so it cannot be paid twice."""
    retried = await payouts.retry(
        session, temporal, payout_id, actor_id=principal.user.id, settings=settings
    )
    return RetryOut(payout=PayoutOut.of(retried.payout), workflow_id=retried.workflow_id)
