"""The publisher's payouts, payout settings and earnings report."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, EmailStr, Field

from api.deps import EarningsReaderDep, PayoutSettingsDep, SessionDep
from api.params import IdPath, Limit, Offset
from api.routers.payout_schemas import CoveredLine, CoveredOrder, PayoutDetailOut, PayoutOut
from api.schemas import Page, Strict
from domain.errors import DomainError, NotFound
from domain.payouts import STRIPE_ACCOUNT_PATTERN, PayoutMethod, PayoutStatus, check_settings
from domain.payouts import earnings_csv as render_csv
from models.publisher import Publisher
from models.repositories import audit, payouts, publishers

router = APIRouter(prefix="/api/v1/publisher/payouts", tags=["publisher"])
MAX_REPORT_DAYS = 366


class PayoutSettingsIn(Strict):
    """Fields left out keep their stored value; ``null`` clears one."""

    payout_method: PayoutMethod
    paypal_email: EmailStr | None = Field(default=None, max_length=200)
    stripe_account_id: str | None = Field(
        default=None, max_length=100, pattern=STRIPE_ACCOUNT_PATTERN
    )


class PayoutSettingsOut(BaseModel):
    payout_method: str
    paypal_email: str | None
    stripe_account_id: str | None

    @classmethod
    def of(cls, publisher: Publisher) -> "PayoutSettingsOut":
        return cls(
            payout_method=publisher.payout_method,
            paypal_email=publisher.paypal_email,
            stripe_account_id=publisher.stripe_account_id,
        )


@router.get("/settings", response_model=PayoutSettingsOut)
async def payout_settings(publisher: EarningsReaderDep):
    return PayoutSettingsOut.of(publisher)


@router.post("/settings", response_model=PayoutSettingsOut)
async def update_payout_settings(
    body: PayoutSettingsIn, publisher: PayoutSettingsDep, session: SessionDep
):
    """Where payouts go from the next transfer on (one under way keeps its destination)."""
    changes = body.model_dump(exclude_unset=True, mode="json")
    merged = {
        "paypal_email": changes.get("paypal_email", publisher.paypal_email),
        "stripe_account_id": changes.get("stripe_account_id", publisher.stripe_account_id),
    }
    check_settings(body.payout_method, **merged)
    publisher.payout_method = body.payout_method.value
    publisher.paypal_email = merged["paypal_email"]
    publisher.stripe_account_id = merged["stripe_account_id"]
    publisher.updated_by = publisher.user_id
    await publishers.save_publisher(session, publisher)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="publisher.payout_settings",
        entity_type="publisher",
        entity_id=publisher.id,
        changes=changes,
    )
    return PayoutSettingsOut.of(publisher)


@router.get(
    "/earnings.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def earnings_report(
    publisher: EarningsReaderDep,
    session: SessionDep,
    from_: Annotated[date, Query(alias="from", description="first day, UTC")],
    to: Annotated[date, Query(description="last day, UTC, inclusive")],
):
    """Every ledger entry from ``from`` to ``to`` (both included, UTC days): date, order,
    module, sale or refund, gross, commission, net, currency and the payout that paid it."""
    if to < from_:
        raise DomainError("invalid_range", "'to' must not be before 'from'")
    if (to - from_).days >= MAX_REPORT_DAYS:
        raise DomainError("range_too_long", f"a report covers at most {MAX_REPORT_DAYS} days")
    lines = await payouts.earnings_between(
        session,
        publisher.id,
        from_at=datetime.combine(from_, time(), UTC),
        until=datetime.combine(to + timedelta(days=1), time(), UTC),
    )
    return Response(
        content=render_csv(lines).encode("utf-8"),
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
):
    rows, total = await payouts.listed(
        session,
        publisher_id=publisher.id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[PayoutOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/{payout_id}", response_model=PayoutDetailOut)
async def payout_details(payout_id: IdPath, publisher: EarningsReaderDep, session: SessionDep):
    """A payout with the orders it covers, line by line, as booked in the ledger."""
    row = await payouts.get(session, payout_id)
    if row is None or row.publisher_id != publisher.id:
        raise NotFound("payout_not_found", "no such payout among yours")
    orders: dict[int, CoveredOrder] = {}
    zero = Decimal("0.00")
    for entry in await payouts.entries_of(session, row.id):
        order = orders.setdefault(
            entry.order_id,
            CoveredOrder(
                order_id=entry.order_id,
                order_number=entry.order_number,
                gross=zero,
                commission=zero,
                net=zero,
                lines=[],
            ),
        )
        order.gross += entry.gross
        order.commission += entry.commission
        order.net += entry.net
        order.lines.append(
            CoveredLine(
                module_id=entry.module_id,
                module=entry.module,
                kind=entry.kind,
                gross=entry.gross,
                commission=entry.commission,
                net=entry.net,
                occurred_at=entry.occurred_at,
            )
        )
    return PayoutDetailOut(**PayoutOut.of(row).model_dump(), orders=list(orders.values()))
