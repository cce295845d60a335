"""Queries on publisher payouts and the ledger entries they pay out.

A payout row is unique per (publisher, period). The entries it pays are the ledger rows
whose ``payout_id`` points at it; they are assigned in the transaction that creates the
row, only while still unassigned, so an entry is paid out at most once.

``attempts`` counts the transfers the provider *refused* (no money moved): the next
transfer's idempotency key is derived from it (``domain.payouts.transfer_key``).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.payouts import CurrencyTotals, PayoutStatus, Period, ReportLine, completion_mail
from models.analytics import PublisherPayout
from models.commerce import EarningEntry, Order
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.repositories import outbox

UNFINISHED = (PayoutStatus.PENDING.value, PayoutStatus.PROCESSING.value)


@dataclass(frozen=True)
class Assigned:
    entries: int
    gross: Decimal
    commission: Decimal
    net: Decimal
    order_ids: list[int]


async def payees(
    session: AsyncSession, *, period_start: date, ends_at: datetime, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """Publishers (id, slug) a month's run visits, by id after ``after_id``: those with
    ledger entries unpaid before the month's end, and those whose payout for the month is
    unfinished."""
    unpaid = exists().where(
        EarningEntry.publisher_id == Publisher.id,
        EarningEntry.payout_id.is_(None),
        EarningEntry.occurred_at < ends_at,
    )
    unfinished = exists().where(
        PublisherPayout.publisher_id == Publisher.id,
        PublisherPayout.period_start == period_start,
        PublisherPayout.status.in_(UNFINISHED),
    )
    rows = await session.execute(
        select(Publisher.id, Publisher.slug)
        .where(Publisher.id > after_id, or_(unpaid, unfinished))
        .order_by(Publisher.id)
        .limit(limit)
    )
    return [(publisher_id, slug) for publisher_id, slug in rows]


async def unpaid_totals(
    session: AsyncSession, publisher_id: int, *, starts_at: datetime, ends_at: datetime
) -> list[CurrencyTotals]:
    """The publisher's unpaid entries before ``ends_at``, summed per currency (exact
    ``numeric`` sums); ``carried_in`` sums those before ``starts_at``."""
    zero = Decimal("0.00")
    rows = await session.execute(
        select(
            EarningEntry.currency,
            func.sum(EarningEntry.gross),
            func.sum(EarningEntry.commission),
            func.sum(EarningEntry.net),
            func.count(),
            func.min(EarningEntry.occurred_at),
            func.coalesce(
                func.sum(EarningEntry.net).filter(EarningEntry.occurred_at < starts_at), zero
            ),
        )
        .where(
            EarningEntry.publisher_id == publisher_id,
            EarningEntry.payout_id.is_(None),
            EarningEntry.occurred_at < ends_at,
        )
        .group_by(EarningEntry.currency)
        .order_by(EarningEntry.currency)
    )
    return [CurrencyTotals(*row) for row in rows.all()]


@dataclass(frozen=True)
class PayoutView:
    id: int
    status: str
    currency: str
    net_amount: Decimal


@dataclass(frozen=True)
class Payee:
    status: str
    """The publisher's account status."""
    payout: PayoutView | None
    """Its payout for the period, if made already."""


async def payee(session: AsyncSession, publisher_id: int, period_start: date) -> Payee | None:
    """The publisher's status and its payout for the period, in one round trip."""
    row = (
        await session.execute(
            select(
                Publisher.status,
                PublisherPayout.id,
                PublisherPayout.status,
                PublisherPayout.currency,
                PublisherPayout.net_amount,
            )
            .select_from(Publisher)
            .outerjoin(
                PublisherPayout,
                (PublisherPayout.publisher_id == Publisher.id)
                & (PublisherPayout.period_start == period_start),
            )
            .where(Publisher.id == publisher_id)
        )
    ).one_or_none()
    if row is None:
        return None
    payout = PayoutView(row[1], row[2], row[3], row[4]) if row[1] is not None else None
    return Payee(row[0], payout)


async def for_period(
    session: AsyncSession, publisher_id: int, period_start: date, *, lock: bool = False
) -> PublisherPayout | None:
    query = select(PublisherPayout).where(
        PublisherPayout.publisher_id == publisher_id, PublisherPayout.period_start == period_start
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get(
    session: AsyncSession, payout_id: int, *, lock: bool = False
) -> PublisherPayout | None:
    query = select(PublisherPayout).where(PublisherPayout.id == payout_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """The new payout's id, or None when the publisher already has one for the period."""
    result = await session.execute(
        insert(PublisherPayout)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["publisher_id", "period_start", "period_end"])
        .returning(PublisherPayout.id)
    )
    return result.scalar_one_or_none()


ASSIGN = text(
    """
    WITH taken AS (
        UPDATE marketplace_earnings SET payout_id = :payout_id
        WHERE publisher_id = :publisher_id AND currency = :currency
          AND payout_id IS NULL AND occurred_at < :ends_at
        RETURNING gross, commission, net, order_id
    ), noted AS (
        UPDATE marketplace_payouts
        SET order_ids = COALESCE(
            (SELECT jsonb_agg(DISTINCT order_id ORDER BY order_id) FROM taken), '[]'::jsonb)
        WHERE id = :payout_id
        RETURNING order_ids
    )
    SELECT count(*), COALESCE(sum(gross), 0), COALESCE(sum(commission), 0),
           COALESCE(sum(net), 0), (SELECT order_ids FROM noted)
    FROM taken
    """
)


async def assign_entries(
    session: AsyncSession, payout_id: int, publisher_id: int, currency: str, ends_at: datetime
) -> Assigned:
    """Give the payout every entry of the publisher in ``currency`` still unpaid before
    ``ends_at``, and note their orders on it; what it took, summed. Rows another
    transaction took first are skipped (the UPDATE re-checks ``payout_id IS NULL`` once
    their lock is released)."""
    row = (
        await session.execute(
            ASSIGN,
            {
                "payout_id": payout_id,
                "publisher_id": publisher_id,
                "currency": currency,
                "ends_at": ends_at,
            },
        )
    ).one()
    return Assigned(row[0], row[1], row[2], row[3], list(row[4] or []))


async def set_status(
    session: AsyncSession,
    row_id: int,
    *,
    to: PayoutStatus,
    when: tuple[PayoutStatus, ...],
    **values: Any,
) -> PublisherPayout | None:
    """Move the payout to ``to`` if its status is one of ``when``; the row, or None."""
    result = await session.execute(
        update(PublisherPayout)
        .where(
            PublisherPayout.id == row_id,
            PublisherPayout.status.in_([status.value for status in when]),
        )
        .values(status=to.value, **values)
        .returning(PublisherPayout)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


@dataclass(frozen=True)
class Ticket:
    """A payout about to be transferred, with where its publisher wants the money."""

    status: str
    payout_method: str | None
    net_amount: Decimal
    currency: str
    attempts: int
    period_start: date
    publisher_id: int
    publisher_method: str
    stripe_account_id: str | None
    paypal_email: str | None


async def ticket(session: AsyncSession, payout_id: int) -> Ticket | None:
    """The payout (locked for the caller's transaction) and its publisher's settings."""
    row = (
        await session.execute(
            select(
                PublisherPayout.status,
                PublisherPayout.payout_method,
                PublisherPayout.net_amount,
                PublisherPayout.currency,
                PublisherPayout.attempts,
                PublisherPayout.period_start,
                PublisherPayout.publisher_id,
                Publisher.payout_method,
                Publisher.stripe_account_id,
                Publisher.paypal_email,
            )
            .join(Publisher, Publisher.id == PublisherPayout.publisher_id)
            .where(PublisherPayout.id == payout_id)
            .with_for_update(of=PublisherPayout)
        )
    ).one_or_none()
    # ten columns: past the typed overloads of select(), so the row type ends in *tuple[Any, ...]
    return Ticket(*row[:10]) if row is not None else None


async def start_processing(session: AsyncSession, payout_id: int, method: str) -> None:
    await session.execute(
        update(PublisherPayout)
        .where(PublisherPayout.id == payout_id)
        .values(status=PayoutStatus.PROCESSING.value, payout_method=method)
    )


@dataclass(frozen=True)
class Completed:
    id: int
    publisher_id: int
    net_amount: Decimal
    currency: str
    period_start: date
    reference: str | None
    email: str
    publisher_name: str


COMPLETE = text(
    """
    WITH done AS (
        UPDATE marketplace_payouts
        SET status = 'completed', payout_id = :reference, paid_at = :paid_at,
            failure_reason = NULL, updated_at = now()
        WHERE id = :payout_id AND status = ANY(:allowed)
        RETURNING id, publisher_id, net_amount, currency, period_start, payout_id
    )
    SELECT done.*, u.email, p.display_name
    FROM done
    JOIN marketplace_publishers p ON p.id = done.publisher_id
    JOIN users u ON u.id = p.user_id
    """
)


async def mark_completed(
    session: AsyncSession,
    payout_id: int,
    *,
    reference: str | None,
    paid_at: datetime,
    when: tuple[PayoutStatus, ...],
) -> Completed | None:
    """Completed, if its status is one of ``when``; with who to tell. None otherwise."""
    row = (
        await session.execute(
            COMPLETE,
            {
                "payout_id": payout_id,
                "reference": reference,
                "paid_at": paid_at,
                "allowed": [status.value for status in when],
            },
        )
    ).one_or_none()
    return Completed(*row) if row is not None else None


async def notify_completed(session: AsyncSession, payout: Completed) -> None:
    """Queue the "payout completed" mail in the caller's transaction, once per payout:
    whether the workflow confirmed the transfer or an admin marked the payout paid."""
    subject, body = completion_mail(
        publisher_name=payout.publisher_name,
        net=payout.net_amount,
        currency=payout.currency,
        period=Period(payout.period_start.year, payout.period_start.month),
        reference=payout.reference,
    )
    await outbox.enqueue(
        session,
        key=f"payout-{payout.id}-completed",
        kind="payout_completed",
        to=payout.email,
        subject=subject,
        body=body,
    )


async def record_failure(
    session: AsyncSession, row_id: int, *, reason: str, refused: bool
) -> PublisherPayout | None:
    return await set_status(
        session,
        row_id,
        to=PayoutStatus.FAILED,
        when=(PayoutStatus.PENDING, PayoutStatus.PROCESSING),
        failure_reason=reason[:2000],
        attempts=PublisherPayout.attempts + (1 if refused else 0),
    )


async def listed(
    session: AsyncSession,
    *,
    status: str | None = None,
    publisher_id: int | None = None,
    period_start: date | None = None,
    limit: int,
    offset: int,
) -> tuple[list[PublisherPayout], int]:
    where = []
    if status is not None:
        where.append(PublisherPayout.status == status)
    if publisher_id is not None:
        where.append(PublisherPayout.publisher_id == publisher_id)
    if period_start is not None:
        where.append(PublisherPayout.period_start == period_start)
    total = await session.scalar(select(func.count()).select_from(PublisherPayout).where(*where))
    rows = await session.execute(
        select(PublisherPayout)
        .where(*where)
        .order_by(PublisherPayout.period_start.desc(), PublisherPayout.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total or 0


@dataclass(frozen=True)
class CoveredEntry:
    order_id: int
    order_number: str
    module_id: int
    module: str
    kind: str
    gross: Decimal
    commission: Decimal
    net: Decimal
    occurred_at: datetime


async def entries_of(session: AsyncSession, payout_id: int) -> list[CoveredEntry]:
    rows = await session.execute(
        select(
            EarningEntry.order_id,
            Order.order_number,
            EarningEntry.module_id,
            MarketplaceModule.display_name,
            EarningEntry.kind,
            EarningEntry.gross,
            EarningEntry.commission,
            EarningEntry.net,
            EarningEntry.occurred_at,
        )
        .join(Order, Order.id == EarningEntry.order_id)
        .join(MarketplaceModule, MarketplaceModule.id == EarningEntry.module_id)
        .where(EarningEntry.payout_id == payout_id)
        .order_by(EarningEntry.occurred_at, EarningEntry.id)
    )
    return [CoveredEntry(*row) for row in rows.all()]


async def earnings_between(
    session: AsyncSession, publisher_id: int, *, from_at: datetime, until: datetime
) -> list[ReportLine]:
    """Every ledger entry of the publisher with ``from_at <= occurred_at < until``."""
    rows = await session.execute(
        select(
            EarningEntry.occurred_at,
            Order.order_number,
            MarketplaceModule.display_name,
            EarningEntry.kind,
            EarningEntry.gross,
            EarningEntry.commission,
            EarningEntry.net,
            EarningEntry.currency,
            EarningEntry.payout_id,
        )
        .join(Order, Order.id == EarningEntry.order_id)
        .join(MarketplaceModule, MarketplaceModule.id == EarningEntry.module_id)
        .where(
            EarningEntry.publisher_id == publisher_id,
            EarningEntry.occurred_at >= from_at,
            EarningEntry.occurred_at < until,
        )
        .order_by(EarningEntry.occurred_at, EarningEntry.id)
    )
    return [ReportLine(*row) for row in rows.all()]
