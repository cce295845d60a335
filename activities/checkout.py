"""Side effects of checkout and refunds: the gateway calls, the order, licenses and ledger.

Every activity here is safe to run again: gateway calls carry idempotency keys built from
the order number, and database writes are guarded by the order's status and by unique keys
(one license per order line, one ledger entry per line and kind, one refund per order).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger import book_sale
from activities.notifications import queue_mail
from domain import processes
from domain.checkout import (
    LicenseKind,
    OrderKind,
    OrderStatus,
    PaymentInstructions,
    PaymentStatus,
    PaymentView,
    RefundInput,
    RefundStatus,
    SubscriptionStatus,
    add_period,
    license_kind_for,
)
from domain.modules import LicenseType, SubscriptionPeriod
from domain.pricing import Earnings, refund_reversal, to_minor_units
from integrations.license_vault import LicenseVault
from integrations.mail import Mailer
from integrations.payments import Payment, PaymentRequest
from integrations.payments.registry import Gateways
from models.commerce import Order, Subscription
from models.repositories import cart, coupons, orders, subscriptions, users


class SubscriptionStart(BaseModel):
    license_id: int
    workflow_id: str


class FulfilmentResult(BaseModel):
    license_ids: list[int]
    subscriptions: list[SubscriptionStart]
    """The subscription workflows to start, with the ids stored on their licenses."""


def charge_key(order_number: str) -> str:
    return f"checkout:{order_number}:charge"


def refund_key(order_number: str) -> str:
    return f"refund:{order_number}"


def _view(payment: Payment) -> PaymentView:
    return PaymentView(
        status=payment.status.value,
        payment_id=payment.payment_id,
        decline_code=payment.decline_code,
        next_action_url=payment.next_action_url,
    )


def _missing(what: str) -> ApplicationError:
    return ApplicationError(f"{what} no longer exists", type="not_found", non_retryable=True)


@dataclass
class CheckoutActivities:
    sessions: async_sessionmaker[AsyncSession]
    gateways: Gateways
    vault: LicenseVault
    mailer: Mailer
    mail_from: str

    async def _order(self, session: AsyncSession, order_id: int, *, lock: bool = False) -> Order:
        order = await orders.get(session, order_id, lock=lock)
        if order is None:
            raise _missing(f"order {order_id}")
        return order

    async def _record(self, order_id: int, payment: Payment) -> PaymentView:
        """Write what the gateway says onto a pending order (a settled one keeps its state)."""
        async with self.sessions.begin() as session:
            order = await self._order(session, order_id, lock=True)
            if order.status == OrderStatus.PENDING:
                order.payment_intent_id = payment.payment_id
                order.payment_status = payment.status.value
                order.payment_next_action = (
                    {"url": payment.next_action_url, "client_secret": payment.client_secret}
                    if payment.status is PaymentStatus.REQUIRES_ACTION
                    else None
                )
            if payment.customer_id or payment.payment_method:
                await orders.save_profile(
                    session,
                    order.user_id,
                    payment.gateway,
                    customer_id=payment.customer_id,
                    payment_method=payment.payment_method,
                )
        return _view(payment)

    @activity.defn(name="checkout.create_payment")
    async def create_payment(self, instructions: PaymentInstructions) -> PaymentView:
        async with self.sessions() as session:
            order = await self._order(session, instructions.order_id)
            user = await users.get_user(session, order.user_id)
            if user is None:
                raise _missing("the buyer")
            gateway_name = order.payment_method or "local"
            profile = await orders.profile(session, user.id, gateway_name)
        if order.status != OrderStatus.PENDING:
            return PaymentView(status=PaymentStatus.CANCELED.value, decline_code="order_closed")
        gateway = self.gateways.get(gateway_name)
        customer = await gateway.ensure_customer(
            user.id, user.email, profile.customer_id if profile else None
        )
        payment = await gateway.create_payment(
            PaymentRequest(
                reference=order.order_number,
                amount_minor=to_minor_units(order.total, order.currency),
                currency=order.currency,
                description=f"FastVue Marketplace order {order.order_number}",
                idempotency_key=charge_key(order.order_number),
                customer_id=customer,
                payment_method=instructions.payment_method,
                save_payment_method=instructions.save_payment_method,
                buyer_email=order.billing_email or user.email,
                return_url=instructions.return_url,
            )
        )
        return await self._record(order.id, payment)

    @activity.defn(name="checkout.confirm_payment")
    async def confirm_payment(self, order_id: int) -> PaymentView:
        """The buyer says they approved: confirm or capture at the gateway."""
        async with self.sessions() as session:
            order = await self._order(session, order_id)
        gateway = self.gateways.get(order.payment_method or "local")
        assert order.payment_intent_id is not None
        payment = await gateway.confirm_payment(
            order.payment_intent_id, f"checkout:{order.order_number}:confirm"
        )
        return await self._record(order_id, payment)

    @activity.defn(name="checkout.refresh_payment")
    async def refresh_payment(self, order_id: int) -> PaymentView:
        """A webhook said something changed: read the payment back from the gateway."""
        async with self.sessions() as session:
            order = await self._order(session, order_id)
        gateway = self.gateways.get(order.payment_method or "local")
        assert order.payment_intent_id is not None
        return await self._record(order_id, await gateway.get_payment(order.payment_intent_id))

    @activity.defn(name="checkout.cancel_payment")
    async def cancel_payment(self, order_id: int) -> PaymentView:
        """Time is up, or the buyer gave up: cancel at the gateway. If it was paid after
        all, that is returned."""
        async with self.sessions() as session:
            order = await self._order(session, order_id)
        if order.payment_intent_id is None:
            return PaymentView(status=PaymentStatus.CANCELED.value)
        gateway = self.gateways.get(order.payment_method or "local")
        return await self._record(order_id, await gateway.cancel_payment(order.payment_intent_id))

    @activity.defn(name="checkout.close_unpaid")
    async def close_unpaid(self, order_id: int, status: str, failure_code: str) -> None:
        """End an order that will never be paid (declined, expired, cancelled by its buyer);
        its coupon use is given back. Only a pending order moves, so a retry changes
        nothing."""
        async with self.sessions.begin() as session:
            order = await self._order(session, order_id, lock=True)
            if order.status != OrderStatus.PENDING:
                return
            order.status = OrderStatus(status).value
            order.failure_code = failure_code
            order.payment_next_action = None
            if order.coupon_id is not None:
                await coupons.release(session, order.coupon_id)

    @activity.defn(name="checkout.mark_paid")
    async def mark_paid(self, order_id: int) -> None:
        """Mark the order paid and, in the same transaction, take the lines it bought out
        of the buyer's cart (lines added since stay). Only the move to paid does it, so
        a retry, or a module put back in the cart later, is left alone."""
        async with self.sessions.begin() as session:
            order = await self._order(session, order_id, lock=True)
            if order.status in (OrderStatus.PENDING, OrderStatus.EXPIRED):
                order.status = OrderStatus.PAID.value
                order.payment_status = PaymentStatus.SUCCEEDED.value
                order.payment_next_action = None
                order.failure_code = None
                order.paid_at = datetime.now(UTC)
                if order.kind == OrderKind.PURCHASE:
                    await cart.remove_modules(
                        session, order.user_id, [item["module_id"] for item in order.items]
                    )

    @activity.defn(name="checkout.fulfil")
    async def fulfil(self, order_id: int) -> FulfilmentResult:
        """Issue one license per line and book each publisher's earnings, in one
        transaction: either all of it happened (and a retry returns it) or none."""
        async with self.sessions.begin() as session:
            order = await self._order(session, order_id, lock=True)
            if order.status == OrderStatus.PAID:
                await self._issue(session, order)
                order.status = OrderStatus.COMPLETED.value
            elif order.status != OrderStatus.COMPLETED:
                raise ApplicationError(
                    f"order {order.order_number} is {order.status}, not paid",
                    type="order_not_paid",
                    non_retryable=True,
                )
            issued = await orders.licenses_of(session, order.id)
            return FulfilmentResult(
                license_ids=[row.id for row in issued],
                subscriptions=[
                    SubscriptionStart(license_id=row.id, workflow_id=row.subscription_id)
                    for row in issued
                    if row.license_type == LicenseKind.SUBSCRIPTION and row.subscription_id
                ],
            )

    async def _issue(self, session: AsyncSession, order: Order) -> None:
        paid_at = order.paid_at or datetime.now(UTC)
        for line in order.items:
            kind = license_kind_for(LicenseType(line["license_type"]))
            period = line.get("subscription_period")
            expires_at = (
                add_period(paid_at, SubscriptionPeriod(period))
                if kind is LicenseKind.SUBSCRIPTION and period
                else None
            )
            await orders.insert_license(
                session,
                {
                    **self.vault.new_key_columns(),
                    "user_id": order.user_id,
                    "module_id": line["module_id"],
                    "license_type": kind.value,
                    "status": "active",
                    "purchased_at": paid_at,
                    "expires_at": expires_at,
                    "order_id": order.id,
                },
            )
            await book_sale(session, order, line, paid_at)
        for row in await orders.licenses_of(session, order.id):
            line = next(item for item in order.items if item["module_id"] == row.module_id)
            if row.license_type == LicenseKind.SUBSCRIPTION and row.expires_at is not None:
                row.subscription_id = processes.Subscription.workflow_id(row.id, row.license_key)
                await subscriptions.open(
                    session,
                    Subscription(
                        license_id=row.id,
                        user_id=order.user_id,
                        module_id=row.module_id,
                        gateway=order.payment_method,
                        period=line["subscription_period"],
                        price=Decimal(line["unit_price"]),
                        currency=order.currency,
                        status=SubscriptionStatus.ACTIVE.value,
                        period_number=1,
                        billing_anchor=paid_at,
                        current_period_start=paid_at,
                        current_period_end=row.expires_at,
                    ),
                )

    @activity.defn(name="checkout.refund_payment")
    async def refund_payment(self, request: RefundInput) -> str:
        """Refund the whole order at the gateway, once. Returns the refund's status."""
        async with self.sessions.begin() as session:
            order = await self._order(session, request.order_id, lock=True)
            refund = await orders.open_refund(
                session,
                order_id=order.id,
                amount=order.total - order.refunded_amount,
                currency=order.currency,
                reason=request.reason,
                initiated_by=request.initiated_by,
                requested_by=request.requested_by,
            )
            if refund.status == RefundStatus.SUCCEEDED:
                return refund.status
            amount, number = refund.amount, order.order_number
            payment_id, gateway_name = order.payment_intent_id, order.payment_method
        if amount == 0 or payment_id is None:
            result_status, refund_id = RefundStatus.SUCCEEDED, None
        else:
            result = await self.gateways.get(gateway_name or "local").refund(
                payment_id,
                to_minor_units(amount, refund.currency),
                refund_key(number),
                request.reason,
            )
            result_status, refund_id = result.status, result.refund_id
        if result_status is RefundStatus.FAILED:
            raise ApplicationError(
                "the gateway refused the refund", type="refund_failed", non_retryable=True
            )
        if result_status is RefundStatus.PENDING:
            raise ApplicationError("the refund is still pending at the gateway", type="pending")
        async with self.sessions.begin() as session:
            row = await orders.refund_of(session, request.order_id)
            assert row is not None
            row.status = RefundStatus.SUCCEEDED.value
            row.gateway_refund_id = refund_id
            row.completed_at = datetime.now(UTC)
        return RefundStatus.SUCCEEDED.value

    @activity.defn(name="checkout.apply_refund")
    async def apply_refund(self, request: RefundInput) -> list[int]:
        """After the money went back: revoke the order's licenses, end its subscriptions,
        reverse the publishers' earnings and mark the order. Returns the revoked licenses."""
        now = datetime.now(UTC)
        async with self.sessions.begin() as session:
            order = await self._order(session, request.order_id, lock=True)
            refund = await orders.refund_of(session, order.id)
            if refund is None or refund.status != RefundStatus.SUCCEEDED:
                raise ApplicationError("no completed refund", type="refund_missing")
            revoked = await orders.revoke_licenses(session, order.id, now)
            await subscriptions.end_for_licenses(
                session, revoked, SubscriptionStatus.CANCELLED, now
            )
            for entry in await orders.earnings_of(session, order.id):
                if entry.kind != "sale":
                    continue
                reversal = refund_reversal(
                    Earnings(entry.gross, entry.commission, entry.net, entry.currency)
                )
                await orders.record_earning(
                    session,
                    {
                        "publisher_id": entry.publisher_id,
                        "order_id": order.id,
                        "module_id": entry.module_id,
                        "kind": "refund",
                        "gross": reversal.gross,
                        "commission": reversal.commission,
                        "net": reversal.net,
                        "commission_rate": entry.commission_rate,
                        "currency": entry.currency,
                        "occurred_at": refund.completed_at or now,
                    },
                )
            if order.status in (OrderStatus.PAID, OrderStatus.COMPLETED):
                order.refunded_amount = order.refunded_amount + refund.amount
                order.refunded_at = refund.completed_at or now
                order.payment_status = "refunded"
                order.status = (
                    OrderStatus.REFUNDED.value
                    if request.initiated_by != "system"
                    else OrderStatus.FAILED.value
                )
                if request.initiated_by == "system":
                    order.failure_code = "fulfilment_failed"
            return revoked

    @activity.defn(name="checkout.send_receipt")
    async def send_receipt(self, order_id: int) -> None:
        async with self.sessions() as session:
            order = await self._order(session, order_id)
            user = await users.get_user(session, order.user_id)
        if user is None:
            return
        lines = "\n".join(
            f"  {item['module_name']}: {item['total']} {order.currency}" for item in order.items
        )
        body = (
            f"Thank you for your order {order.order_number}.\n\n{lines}\n\n"
            f"Total paid: {order.total} {order.currency}\n\n"
            "Your license keys are under My licenses; the invoice is on the order page."
        )
        if order.status == OrderStatus.REFUNDED:
            subject = f"Refund for order {order.order_number}"
            body = (
                f"Order {order.order_number} was refunded: "
                f"{order.refunded_amount} {order.currency}."
            )
            key = f"refund-{order.order_number}"
        else:
            subject = f"Your FastVue Marketplace receipt {order.order_number}"
            key = f"receipt-{order.order_number}"
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=key,
            kind=key.partition("-")[0],
            to=order.billing_email or user.email,
            subject=subject,
            body=body,
        )
