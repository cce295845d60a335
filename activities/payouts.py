"""Side effects of the payout workflows: the payout row and its ledger entries, the
transfer, and the mail once paid.

Exactly once: ``prepare`` creates the (publisher, period) row and assigns the ledger entries
to it in one transaction, only entries still unassigned, so a second run, a retried
activity or a restarted worker finds the row and takes nothing again. The transfer carries
the idempotency key ``payout:{publisher}:{YYYY-MM}``, so the provider moves the money once
however often the activity is retried.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import DomainError
from domain.payouts import (
    PayoutStatus,
    Period,
    TransferStatus,
    decide,
    destination_for,
    transfer_key,
)
from integrations.payouts import (
    PayoutRails,
    TransferRefused,
    TransferRequest,
    TransferResult,
)
from models.analytics import PublisherPayout
from models.repositories import payouts, platform_settings

REFUSED = "transfer_refused"
"""ApplicationError type of a refused transfer: not retried, the payout fails."""


class Payee(BaseModel):
    id: int
    slug: str


class PayeePage(BaseModel):
    period: str
    after_publisher_id: int = 0
    limit: int = 500


class PayoutRequest(BaseModel):
    publisher_id: int
    period: str
    workflow_id: str | None = None


class PayoutState(BaseModel):
    payout_id: int | None
    """None: nothing unpaid, no payout row."""
    status: str
    currency: str | None = None
    net: Decimal | None = None


class TransferOrder(BaseModel):
    payout_id: int
    method: str
    destination: str | None
    amount: Decimal
    currency: str
    idempotency_key: str
    description: str

    def request(self) -> TransferRequest:
        return TransferRequest(
            payout_id=self.payout_id,
            amount=self.amount,
            currency=self.currency,
            destination=self.destination,
            idempotency_key=self.idempotency_key,
            description=self.description,
        )


class TransferOutcome(BaseModel):
    status: TransferStatus
    external_id: str | None = None


class FailureReport(BaseModel):
    payout_id: int
    reason: str
    refused: bool
    """The provider said no (no money moved): the next attempt gets a new key."""


class Completion(BaseModel):
    payout_id: int
    external_id: str | None


def _state(payout: PublisherPayout | payouts.PayoutView) -> PayoutState:
    return PayoutState(
        payout_id=payout.id, status=payout.status, currency=payout.currency, net=payout.net_amount
    )


def _refused(error: TransferRefused) -> ApplicationError:
    return ApplicationError(f"{error.code}: {error.detail}", type=REFUSED, non_retryable=True)


@dataclass
class PayoutActivities:
    sessions: async_sessionmaker[AsyncSession]
    rails: PayoutRails
    platform_defaults: dict[str, Any]

    @activity.defn(name="payouts.list_payees")
    async def list_payees(self, page: PayeePage) -> list[Payee]:
        period = Period.parse(page.period)
        async with self.sessions() as session:
            found = await payouts.payees(
                session,
                period_start=period.first_day,
                ends_at=period.ends_at,
                after_id=page.after_publisher_id,
                limit=page.limit,
            )
        return [Payee(id=publisher_id, slug=slug) for publisher_id, slug in found]

    @activity.defn(name="payouts.prepare")
    async def prepare(self, request: PayoutRequest) -> PayoutState:
        """The publisher's payout for the period: found, or created with its entries."""
        period = Period.parse(request.period)
        async with self.sessions.begin() as session:
            found = await payouts.payee(session, request.publisher_id, period.first_day)
            if found is None:
                raise ApplicationError(
                    f"no publisher {request.publisher_id}", type="not_found", non_retryable=True
                )
            if found.payout is not None:
                return _state(found.payout)
            platform = await platform_settings.current(session, self.platform_defaults)
            sums = await payouts.unpaid_totals(
                session, request.publisher_id, starts_at=period.starts_at, ends_at=period.ends_at
            )
            decision = decide(sums, minimum=platform.payout_minimum, publisher_status=found.status)
            if decision is None:
                return PayoutState(payout_id=None, status="nothing_owed")
            payout_id = await payouts.insert_once(
                session,
                {
                    "publisher_id": request.publisher_id,
                    "gross_amount": decision.gross,
                    "platform_fee": decision.platform_fee,
                    "net_amount": decision.net,
                    "carried_in": decision.carried_in,
                    "currency": decision.currency,
                    "period_start": period.first_day,
                    "period_end": period.last_day,
                    "status": decision.status.value,
                    "failure_reason": decision.reason,
                    "workflow_id": request.workflow_id,
                    "order_ids": [],
                },
            )
            if payout_id is None:  # another run made it meanwhile
                existing = await payouts.for_period(session, request.publisher_id, period.first_day)
                assert existing is not None
                return _state(existing)
            if decision.status is PayoutStatus.PENDING:
                taken = await payouts.assign_entries(
                    session, payout_id, request.publisher_id, decision.currency, period.ends_at
                )
                expected = (decision.entries, decision.gross, decision.platform_fee, decision.net)
                if (taken.entries, taken.gross, taken.commission, taken.net) != expected:
                    # Another run took some of these entries meanwhile: roll back, retry.
                    raise RuntimeError("the ledger changed while the payout was prepared")
            return PayoutState(
                payout_id=payout_id,
                status=decision.status.value,
                currency=decision.currency,
                net=decision.net,
            )

    @activity.defn(name="payouts.begin_transfer")
    async def begin_transfer(self, payout_id: int) -> TransferOrder | None:
        """Pending → processing, fixing the method and destination the transfer will use;
        None when there is nothing to transfer (already done, or failed here because the
        publisher has not said where to send the money)."""
        async with self.sessions.begin() as session:
            ticket = await payouts.ticket(session, payout_id)
            if ticket is None or ticket.status not in (
                PayoutStatus.PENDING,
                PayoutStatus.PROCESSING,
            ):
                return None
            method = (
                ticket.payout_method
                if ticket.status == PayoutStatus.PROCESSING and ticket.payout_method
                else ticket.publisher_method
            )
            try:
                destination = destination_for(
                    method,
                    stripe_account_id=ticket.stripe_account_id,
                    paypal_email=ticket.paypal_email,
                )
            except (DomainError, ValueError) as error:
                reason = error.detail if isinstance(error, DomainError) else str(error)
                await payouts.record_failure(session, payout_id, reason=reason, refused=False)
                return None
            await payouts.start_processing(session, payout_id, method)
            period = Period(ticket.period_start.year, ticket.period_start.month)
            return TransferOrder(
                payout_id=payout_id,
                method=method,
                destination=destination,
                amount=ticket.net_amount,
                currency=ticket.currency,
                idempotency_key=transfer_key(ticket.publisher_id, period, ticket.attempts),
                description=f"FastVue Marketplace payout {period.label}",
            )

    @activity.defn(name="payouts.transfer")
    async def transfer(self, order: TransferOrder) -> TransferOutcome:
        try:
            result = await self.rails.get(order.method).send(order.request())
        except TransferRefused as error:
            raise _refused(error) from error
        return _outcome(result)

    @activity.defn(name="payouts.check_transfer")
    async def check_transfer(self, order: TransferOrder, external_id: str) -> TransferOutcome:
        try:
            result = await self.rails.get(order.method).check(order.request(), external_id)
        except TransferRefused as error:
            raise _refused(error) from error
        return _outcome(result)

    @activity.defn(name="payouts.complete")
    async def complete(self, completion: Completion) -> None:
        async with self.sessions.begin() as session:
            done = await payouts.mark_completed(
                session,
                completion.payout_id,
                reference=completion.external_id,
                paid_at=datetime.now(UTC),
                when=(PayoutStatus.PROCESSING,),
            )
            if done is not None:
                await payouts.notify_completed(session, done)

    @activity.defn(name="payouts.fail")
    async def fail(self, report: FailureReport) -> None:
        async with self.sessions.begin() as session:
            await payouts.record_failure(
                session, report.payout_id, reason=report.reason, refused=report.refused
            )


def _outcome(result: TransferResult) -> TransferOutcome:
    return TransferOutcome(status=result.status, external_id=result.external_id)
