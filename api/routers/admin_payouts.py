"""Payout runs for admins: list, trigger or backfill a month, mark a manual payout paid,
retry a failed one. Every action is audited."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from activities.payouts import notify_completed
from api.deps import AdminPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.routers.payout_schemas import PERIOD_QUERY_PATTERN, PayoutOut
from api.schemas import INT32_MAX, Page, Strict
from domain import processes
from domain.errors import Conflict, NotFound
from domain.payouts import PayoutMethod, PayoutStatus, Period, check_closed
from models.analytics import PublisherPayout
from models.repositories import audit, payouts, publishers
from services import payouts as payout_service

router = APIRouter(prefix="/api/v1/admin/marketplace/payouts", tags=["admin"])
PeriodText = Annotated[str, Field(pattern=PERIOD_QUERY_PATTERN, examples=["2026-10"])]


class RunIn(Strict):
    period: PeriodText


class RunOut(BaseModel):
    period: str
    workflow_id: str
    started: bool
    """False: the month has already been run (or is running); nothing new was started."""


class MarkPaidIn(Strict):
    reference: str = Field(min_length=1, max_length=100, description="how it was paid")


class RetryOut(BaseModel):
    payout: PayoutOut
    workflow_id: str


async def _payout(session, payout_id: int, *, lock: bool = False) -> PublisherPayout:
    row = await payouts.get(session, payout_id, lock=lock)
    if row is None:
        raise NotFound("payout_not_found", "no such payout")
    return row


async def _audit(session, principal, action: str, entity_id, changes: dict) -> None:
    await audit.record(
        session,
        actor_id=principal.user.id,
        action=f"payout.{action}",
        entity_type="payout",
        entity_id=entity_id,
        changes=changes,
    )


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut)
async def run_month(
    body: RunIn,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    """Trigger or backfill a month's payouts (the schedule does it on the 1st at 02:00
    UTC). Only a month that has ended: ``period_not_closed`` otherwise."""
    period = Period.parse(body.period)
    check_closed(period, datetime.now(UTC))
    started = await payout_service.start_month(temporal, period, settings)
    await _audit(session, principal, "run", period.label, {"started": started})
    return RunOut(
        period=period.label,
        workflow_id=processes.MonthlyPayouts.workflow_id(period.label),
        started=started,
    )


@router.get("", response_model=Page[PayoutOut])
async def list_payouts(
    principal: AdminPrincipal,
    session: SessionDep,
    status: PayoutStatus | None = None,
    publisher_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD_QUERY_PATTERN)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await payouts.listed(
        session,
        status=status.value if status else None,
        publisher_id=publisher_id,
        period_start=Period.parse(period).first_day if period else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[PayoutOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{payout_id}", response_model=PayoutOut)
async def payout_details(payout_id: IdPath, principal: AdminPrincipal, session: SessionDep):
    return PayoutOut.of(await _payout(session, payout_id))


@router.post("/{payout_id}/mark-paid", response_model=PayoutOut)
async def mark_paid(
    payout_id: IdPath, body: MarkPaidIn, principal: AdminPrincipal, session: SessionDep
):
    """Record that a payout was paid outside the system: a manual payout waiting for it,
    or a failed one an admin settled by hand. The publisher is mailed."""
    row = await _payout(session, payout_id, lock=True)
    waiting_manual = (
        row.status == PayoutStatus.PROCESSING and row.payout_method == PayoutMethod.MANUAL
    )
    if not (waiting_manual or row.status == PayoutStatus.FAILED):
        raise Conflict(
            "payout_not_payable_by_hand",
            f"a {row.status} payout cannot be marked paid: only a manual one waiting "
            "for payment, or a failed one",
        )
    before = row.status
    paid = await payouts.mark_completed(
        session,
        row.id,
        reference=body.reference,
        paid_at=datetime.now(UTC),
        when=(PayoutStatus(before),),
    )
    assert paid is not None
    await notify_completed(session, paid)
    await _audit(
        session, principal, "mark_paid", row.id, {"from": before, "reference": body.reference}
    )
    await session.refresh(row)
    return PayoutOut.of(row)


@router.post("/{payout_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=RetryOut)
async def retry_payout(
    payout_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    """Send a failed payout again (to the publisher's current payout settings), or restart
    one stuck before its transfer. A transfer the provider refused goes with a new
    idempotency key; one never confirmed with the same key, so it cannot be paid twice."""
    row = await _payout(session, payout_id, lock=True)
    if row.status not in (PayoutStatus.FAILED, PayoutStatus.PENDING):
        raise Conflict("payout_not_failed", f"a {row.status} payout cannot be retried")
    before, reason = row.status, row.failure_reason
    reopened = await payouts.set_status(
        session,
        row.id,
        to=PayoutStatus.PENDING,
        when=(PayoutStatus(before),),
        failure_reason=None,
    )
    assert reopened is not None
    await _audit(session, principal, "retry", row.id, {"from": before, "failure": reason})
    await session.commit()
    publisher = await publishers.get_publisher(session, row.publisher_id)
    assert publisher is not None
    workflow_id = await payout_service.start_payout(
        temporal,
        publisher_id=row.publisher_id,
        publisher_slug=publisher.slug,
        period=f"{row.period_start:%Y-%m}",
        settings=settings,
    )
    return RetryOut(payout=PayoutOut.of(reopened), workflow_id=workflow_id)
