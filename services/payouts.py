"""Payouts: a month's run (the schedule's, or an admin's trigger or backfill), one
publisher's payout run again by an admin or marked paid by hand, and what a publisher reads
and sets about its own payouts (history, details, payout settings, earnings report).

Every admin action is audited."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.accounts import MailKind, payout_destination_mail
from domain.errors import Conflict, DomainError, NotFound
from domain.payouts import (
    MonthlyPayoutsInput,
    PayoutInput,
    PayoutMethod,
    PayoutStatus,
    Period,
    check_closed,
    check_settings,
    earnings_csv,
)
from integrations.rate_limit import RateLimiter
from integrations.temporal.front_door import StartPolicy, TemporalFrontDoor
from integrations.wiring import payout_options_from
from models.analytics import PublisherPayout
from models.publisher import Publisher
from models.repositories import audit, outbox, payouts, publishers, users
from services import accounts
from services.credentials import PasswordHashing
from settings import Settings

MAX_REPORT_DAYS = 366
ZERO = Decimal("0.00")


async def start_month(workflows: TemporalFrontDoor, period: Period, settings: Settings) -> bool:
    """Start ``payouts-{YYYY-MM}``; False when it runs or ran already (a failed or
    terminated run may be run again: the payouts themselves are unique per period)."""
    return await workflows.start(
        processes.MonthlyPayouts.TYPE,
        MonthlyPayoutsInput(period=period.label, options=payout_options_from(settings)),
        workflow_id=processes.MonthlyPayouts.workflow_id(period.label),
        policy=StartPolicy.UNLESS_RAN,
    )


async def start_payout(
    workflows: TemporalFrontDoor,
    *,
    publisher_id: int,
    publisher_slug: str,
    period: str,
    settings: Settings,
) -> str:
    """Run one publisher's payout again (joining the run in progress, if one is)."""
    workflow_id = processes.Payout.workflow_id(publisher_slug, period)
    await workflows.start(
        processes.Payout.TYPE,
        PayoutInput(
            publisher_id=publisher_id, period=period, options=payout_options_from(settings)
        ),
        workflow_id=workflow_id,
        policy=StartPolicy.JOIN_OR_RESTART,
    )
    return workflow_id


# --- admins ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRun:
    period: str
    workflow_id: str
    started: bool
    """False: the month has already been run (or is running); nothing new was started."""


@dataclass(frozen=True)
class Retried:
    payout: PublisherPayout
    workflow_id: str


async def _audit(
    session: AsyncSession,
    actor_id: int,
    action: str,
    entity_id: int | str,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session,
        actor_id=actor_id,
        action=f"payout.{action}",
        entity_type="payout",
        entity_id=entity_id,
        changes=changes,
    )


async def _payout(session: AsyncSession, payout_id: int, *, lock: bool = False) -> PublisherPayout:
    row = await payouts.get(session, payout_id, lock=lock)
    if row is None:
        raise NotFound("payout_not_found", "no such payout")
    return row


async def run_month(
    session: AsyncSession,
    workflows: TemporalFrontDoor,
    period_text: str,
    *,
    actor_id: int,
    settings: Settings,
) -> MonthRun:
    """Trigger or backfill a month's payouts; only a month that has ended
    (``period_not_closed`` otherwise). The audit entry records whether a run started, so it
    is written after the start: no row of its own is what the run is about."""
    period = Period.parse(period_text)
    check_closed(period, datetime.now(UTC))
    started = await start_month(workflows, period, settings)
    await _audit(session, actor_id, "run", period.label, {"started": started})
    await session.commit()
    return MonthRun(
        period=period.label,
        workflow_id=processes.MonthlyPayouts.workflow_id(period.label),
        started=started,
    )


async def listed(
    session: AsyncSession,
    *,
    status: PayoutStatus | None,
    publisher_id: int | None,
    period: str | None,
    limit: int,
    offset: int,
) -> tuple[list[PublisherPayout], int]:
    """Payouts, newest month first, filtered by status, publisher and month (YYYY-MM)."""
    return await payouts.listed(
        session,
        status=status.value if status else None,
        publisher_id=publisher_id,
        period_start=Period.parse(period).first_day if period else None,
        limit=limit,
        offset=offset,
    )


async def payout(session: AsyncSession, payout_id: int) -> PublisherPayout:
    return await _payout(session, payout_id)


async def mark_paid(
    session: AsyncSession, payout_id: int, *, reference: str, actor_id: int
) -> PublisherPayout:
    """Record that a payout was paid outside the system: a manual payout waiting for it,
    or a failed one an admin settled by hand. The publisher is mailed (queued in the same
    transaction, as the workflow does when a transfer completes)."""
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
        reference=reference,
        paid_at=datetime.now(UTC),
        when=(PayoutStatus(before),),
    )
    assert paid is not None
    await payouts.notify_completed(session, paid)
    await _audit(session, actor_id, "mark_paid", row.id, {"from": before, "reference": reference})
    await session.commit()
    await session.refresh(row)
    return row


async def retry(
    session: AsyncSession,
    workflows: TemporalFrontDoor,
    payout_id: int,
    *,
    actor_id: int,
    settings: Settings,
) -> Retried:
    """Send a failed payout again (to the publisher's current payout settings), or restart
    one stuck before its transfer: reopened and committed, then its workflow started. A
    transfer the provider refused goes with a new idempotency key; one never confirmed
    with the same key, so it cannot be paid twice."""
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
    await _audit(session, actor_id, "retry", row.id, {"from": before, "failure": reason})
    await session.commit()
    publisher = await publishers.get_publisher(session, row.publisher_id)
    assert publisher is not None
    workflow_id = await start_payout(
        workflows,
        publisher_id=row.publisher_id,
        publisher_slug=publisher.slug,
        period=f"{row.period_start:%Y-%m}",
        settings=settings,
    )
    return Retried(payout=reopened, workflow_id=workflow_id)


# --- the publisher's own --------------------------------------------------------------------


@dataclass
class CoveredLine:
    module_id: int
    module: str
    kind: str
    """sale | refund"""
    gross: Decimal
    commission: Decimal
    net: Decimal
    occurred_at: datetime


@dataclass
class CoveredOrder:
    order_id: int
    order_number: str
    gross: Decimal = ZERO
    commission: Decimal = ZERO
    net: Decimal = ZERO
    lines: list[CoveredLine] = field(default_factory=list)


@dataclass(frozen=True)
class PayoutDetails:
    payout: PublisherPayout
    orders: list[CoveredOrder]
    """The orders whose ledger entries this payout paid out (none when carried over or
    held: those entries stay unpaid for a later month)."""


async def history(
    session: AsyncSession,
    publisher: Publisher,
    *,
    status: PayoutStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[PublisherPayout], int]:
    return await payouts.listed(
        session,
        publisher_id=publisher.id,
        status=status.value if status else None,
        limit=limit,
        offset=offset,
    )


async def details(session: AsyncSession, publisher: Publisher, payout_id: int) -> PayoutDetails:
    """One of the publisher's payouts with the orders it covers, line by line, as booked in
    the ledger; another's is as absent as a missing one."""
    row = await payouts.get(session, payout_id)
    if row is None or row.publisher_id != publisher.id:
        raise NotFound("payout_not_found", "no such payout among yours")
    orders: dict[int, CoveredOrder] = {}
    for entry in await payouts.entries_of(session, row.id):
        order = orders.setdefault(
            entry.order_id, CoveredOrder(order_id=entry.order_id, order_number=entry.order_number)
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
    return PayoutDetails(payout=row, orders=list(orders.values()))


async def update_settings(
    session: AsyncSession,
    publisher: Publisher,
    method: PayoutMethod,
    changes: dict[str, Any],
    *,
    current_password: str,
    passwords: PasswordHashing,
    limiter: RateLimiter,
    settings: Settings,
) -> Publisher:
    """Where payouts go from the next transfer on (one under way keeps its destination).
    ``changes`` holds the fields sent: one left out keeps its stored value, ``None``
    clears it. Money goes where this says: the owner re-enters their password
    (``wrong_password``, 403, and nothing changes) and is mailed a notice of the change."""
    owner = await users.get_user(session, publisher.user_id)
    assert owner is not None
    await accounts.confirm_password(
        owner, current_password, passwords=passwords, limiter=limiter, settings=settings
    )
    merged = {
        "paypal_email": changes.get("paypal_email", publisher.paypal_email),
        "stripe_account_id": changes.get("stripe_account_id", publisher.stripe_account_id),
    }
    check_settings(method, **merged)
    publisher.payout_method = method.value
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
    destination = {
        PayoutMethod.PAYPAL: publisher.paypal_email,
        PayoutMethod.STRIPE: publisher.stripe_account_id,
    }.get(method)
    mail = payout_destination_mail(method.value, destination)
    await outbox.enqueue(
        session,
        key=f"{MailKind.PAYOUT_DESTINATION_CHANGED}:{publisher.id}:{uuid.uuid4().hex}",
        kind=MailKind.PAYOUT_DESTINATION_CHANGED,
        to=owner.email,
        subject=mail.subject,
        body=mail.body,
    )
    await session.commit()
    return publisher


async def earnings_report(
    session: AsyncSession, publisher: Publisher, first_day: date, last_day: date
) -> str:
    """The CSV of every ledger entry of the publisher from ``first_day`` to ``last_day``
    (both included, UTC days), at most ``MAX_REPORT_DAYS`` days."""
    if last_day < first_day:
        raise DomainError("invalid_range", "'to' must not be before 'from'")
    if (last_day - first_day).days >= MAX_REPORT_DAYS:
        raise DomainError("range_too_long", f"a report covers at most {MAX_REPORT_DAYS} days")
    lines = await payouts.earnings_between(
        session,
        publisher.id,
        from_at=datetime.combine(first_day, time(), UTC),
        until=datetime.combine(last_day + timedelta(days=1), time(), UTC),
    )
    return earnings_csv(lines)
