"""The publisher's payouts, payout settings and earnings report."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import (
    EarningsReaderDep,
    PasswordsDep,
    PayoutSettingsDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
)
from api.errors import RATE_LIMITED
from api.params import DayQuery, IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.payouts import (
    CoveredOrder,
    PayoutDetailOut,
    PayoutOut,
    PayoutSettingsIn,
    PayoutSettingsOut,
)
from domain.payouts import PayoutStatus
from services import payouts

router = APIRouter(prefix="/api/v1/publisher/payouts", tags=["publisher"])


@router.get("/settings", response_model=PayoutSettingsOut)
async def payout_settings(publisher: EarningsReaderDep) -> PayoutSettingsOut:
    return PayoutSettingsOut.of(publisher)


@router.post("/settings", response_model=PayoutSettingsOut, responses=RATE_LIMITED)
async def update_payout_settings(
    body: PayoutSettingsIn,
    publisher: PayoutSettingsDep,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    passwords: PasswordsDep,
) -> PayoutSettingsOut:
    """Where payouts go from the next transfer on (one under way keeps its destination).
    The account's password is re-entered (``current_password``): a wrong one is
    ``wrong_password`` (403) and changes nothing; wrong ones back off per account. The
    account is mailed a notice of every change."""
    changes = body.model_dump(exclude_unset=True, exclude={"current_password"}, mode="json")
    updated = await payouts.update_settings(
        session,
        publisher,
        body.payout_method,
        changes,
        current_password=body.current_password,
        passwords=passwords,
        limiter=limiter,
        settings=settings,
    )
    return PayoutSettingsOut.of(updated)


@router.get(
    "/earnings.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def earnings_report(
    publisher: EarningsReaderDep,
    session: SessionDep,
    from_: Annotated[DayQuery, Query(alias="from", description="first day, UTC")],
    to: Annotated[DayQuery, Query(description="last day, UTC, inclusive")],
) -> Response:
    """Every ledger entry from ``from`` to ``to`` (both included, UTC days): date, order,
    module, sale or refund, gross, commission, net, currency and the payout that paid it."""
    report = await payouts.earnings_report(session, publisher, from_, to)
    return Response(
        content=report.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="earnings-{from_}-{to}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("", response_model=Page[PayoutOut])
async def payout_history(
    publisher: EarningsReaderDep,
    session: SessionDep,
    status: PayoutStatus | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[PayoutOut]:
    rows, total = await payouts.history(
        session, publisher, status=status, limit=limit, offset=offset
    )
    return Page(items=[PayoutOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{payout_id}", response_model=PayoutDetailOut)
async def payout_details(
    payout_id: IdPath, publisher: EarningsReaderDep, session: SessionDep
) -> PayoutDetailOut:
    """A payout with the orders it covers, line by line, as booked in the ledger."""
    found = await payouts.details(session, publisher, payout_id)
    return PayoutDetailOut(
        **PayoutOut.of(found.payout).model_dump(),
        orders=[CoveredOrder.model_validate(order, from_attributes=True) for order in found.orders],
    )
