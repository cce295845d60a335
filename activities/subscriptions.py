"""Side effects of the subscription workflow: renewal charges, dunning, expiry, reminders.

A renewal is keyed by the period it pays for: its order is ``FV-R{license}-{period}`` and
each attempt's charge ``sub:{license}:period:{n}:attempt:{k}``, so a retried activity finds
the same order and the gateway returns the same charge. A period already renewed is never
charged again.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger import book_sale
from activities.notifications import queue_mail
from domain.checkout import (
    LicenseKind,
    OrderKind,
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    SubscriptionStatus,
    period_end,
    renewal_order_number,
)
from domain.licensing import LicenseStatus
from domain.modules import LicenseType, SubscriptionPeriod
from domain.pricing import CartLine, price_order, to_minor_units
from integrations.mail import Mailer
from integrations.payments import Payment, PaymentRequest
from integrations.payments.registry import Gateways
from models.commerce import Order
from models.repositories import modules, orders, platform_settings, subscriptions, users


class SubscriptionState(BaseModel):
    license_id: int
    status: SubscriptionStatus
    period_number: int
    period_end: datetime
    cancel_at_period_end: bool
    trialing: bool
    has_payment_method: bool
    reminder_days: int
    dunning_days: list[int]

    @property
    def renews(self) -> bool:
        return not self.cancel_at_period_end and self.has_payment_method


class RenewalAttempt(BaseModel):
    license_id: int
    period_number: int
    """The period being paid for."""
    attempt: int
    grace_until: datetime | None = None
    """While dunning, the license stays valid until then."""


class RenewalResult(BaseModel):
    succeeded: bool
    decline_code: str | None = None


class EndRequest(BaseModel):
    license_id: int
    status: SubscriptionStatus
    reason: str
    at: datetime | None = None
    """When the workflow decided (its clock); the license is valid until then at most."""


@dataclass
class SubscriptionActivities:
    sessions: async_sessionmaker[AsyncSession]
    gateways: Gateways
    mailer: Mailer
    """Delivers queued mail right away; the delivery schedule retries what it cannot."""
    mail_from: str
    reminder_days: int
    dunning_days: list[int]
    public_base_url: str | None = None
    """Where links in mails point; without it mails carry no links."""

    @activity.defn(name="subscription.load")
    async def load(self, license_id: int) -> SubscriptionState:
        async with self.sessions() as session:
            found = await subscriptions.with_license(session, license_id)
            if found is None:
                raise ApplicationError(
                    f"no subscription for license {license_id}",
                    type="not_found",
                    non_retryable=True,
                )
            sub, _ = found
            profile = (
                await orders.profile(session, sub.user_id, sub.gateway) if sub.gateway else None
            )
        return SubscriptionState(
            license_id=license_id,
            status=SubscriptionStatus(sub.status),
            period_number=sub.period_number,
            period_end=sub.current_period_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            trialing=sub.status == SubscriptionStatus.TRIALING,
            has_payment_method=bool(profile and profile.payment_method),
            reminder_days=self.reminder_days,
            dunning_days=self.dunning_days,
        )

    @activity.defn(name="subscription.set_cancel_at_period_end")
    async def set_cancel_at_period_end(self, license_id: int, cancel: bool) -> None:
        async with self.sessions.begin() as session:
            sub = await subscriptions.of_license(session, license_id, lock=True)
            if sub is None or not SubscriptionStatus(sub.status).is_live:
                return
            sub.cancel_at_period_end = cancel
            sub.cancelled_at = datetime.now(UTC) if cancel else None

    @activity.defn(name="subscription.charge")
    async def charge(self, attempt: RenewalAttempt) -> RenewalResult:
        order = await self._renewal_order(attempt)
        if isinstance(order, RenewalResult):
            return order
        async with self.sessions() as session:
            sub = await subscriptions.of_license(session, attempt.license_id)
            assert sub is not None and sub.gateway is not None
            profile = await orders.profile(session, sub.user_id, sub.gateway)
        if profile is None or not profile.payment_method:
            return await self._declined(attempt, order.id, "no_payment_method")
        payment = await self.gateways.get(sub.gateway).create_payment(
            PaymentRequest(
                reference=order.order_number,
                amount_minor=to_minor_units(order.total, order.currency),
                currency=order.currency,
                description=f"Renewal {order.order_number}",
                idempotency_key=(
                    f"sub:{attempt.license_id}:period:{attempt.period_number}"
                    f":attempt:{attempt.attempt}"
                ),
                customer_id=profile.customer_id,
                payment_method=profile.payment_method,
                off_session=True,
            )
        )
        if payment.status is not PaymentStatus.SUCCEEDED:
            return await self._declined(
                attempt, order.id, payment.decline_code or payment.status.value, payment.payment_id
            )
        if not await self._renewed(attempt, order.id, payment.payment_id):
            return await self._refund_late_charge(sub.gateway, order, payment)
        return RenewalResult(succeeded=True)

    async def _refund_late_charge(
        self, gateway: str, order: Order, payment: Payment
    ) -> RenewalResult:
        """The subscription ended (a refund, say) while its renewal was being charged: give
        the money back instead of bringing the subscription back to life."""
        refund = await self.gateways.get(gateway).refund(
            payment.payment_id,
            payment.amount_minor,
            f"refund:{order.order_number}",
            "the subscription ended before this renewal",
        )
        async with self.sessions.begin() as session:
            row = await orders.get(session, order.id, lock=True)
            assert row is not None
            row.status = OrderStatus.FAILED.value
            row.failure_code = "subscription_ended"
            row.payment_intent_id = payment.payment_id
            row.payment_status = (
                "refunded" if refund.status is RefundStatus.SUCCEEDED else payment.status.value
            )
        return RenewalResult(succeeded=False, decline_code="subscription_ended")

    async def _renewal_order(self, attempt: RenewalAttempt) -> Order | RenewalResult:
        """The period's order, created by the first attempt; or, when there is nothing to
        charge, the outcome: already renewed, or the subscription ended meanwhile (say a
        refund cancelled it after the workflow last looked)."""
        number = renewal_order_number(attempt.license_id, attempt.period_number)
        async with self.sessions.begin() as session:
            found = await subscriptions.with_license(session, attempt.license_id, lock=True)
            assert found is not None
            sub, license_row = found
            if sub.period_number >= attempt.period_number:
                return RenewalResult(succeeded=True)
            if not SubscriptionStatus(sub.status).is_live:
                return RenewalResult(succeeded=False, decline_code="subscription_ended")
            existing = await orders.by_number(session, number)
            if existing is not None:
                return existing
            module = await modules.get_module(session, sub.module_id)
            assert module is not None
            user = await users.get_user(session, sub.user_id)
            tax_rate = await platform_settings.tax_rate(session)
            totals = price_order(
                [
                    CartLine(
                        module_id=module.id,
                        publisher_id=module.publisher_id,
                        unit_price=sub.price,
                        currency=sub.currency,
                        license_type=LicenseType.SUBSCRIPTION,
                    )
                ],
                None,
                tax_rate,
                datetime.now(UTC),
            )
            line = totals.lines[0]
            return await orders.add(
                session,
                Order(
                    order_number=number,
                    user_id=sub.user_id,
                    kind=OrderKind.RENEWAL.value,
                    items=[
                        {
                            "module_id": module.id,
                            "publisher_id": module.publisher_id,
                            "module_slug": module.slug,
                            "module_name": module.display_name,
                            "license_type": LicenseType.SUBSCRIPTION.value,
                            "subscription_period": sub.period,
                            "license_id": license_row.id,
                            "period_number": attempt.period_number,
                            "unit_price": str(line.gross),
                            "discount": str(line.discount),
                            "tax": str(line.tax),
                            "net_of_discount": str(line.net_of_discount),
                            "total": str(line.total),
                        }
                    ],
                    subtotal=totals.subtotal,
                    discount_amount=totals.discount,
                    tax_amount=totals.tax,
                    tax_rate=tax_rate,
                    total=totals.total,
                    currency=totals.currency,
                    payment_method=sub.gateway,
                    billing_email=user.email if user else None,
                ),
            )

    async def _declined(
        self, attempt: RenewalAttempt, order_id: int, code: str, payment_id: str | None = None
    ) -> RenewalResult:
        async with self.sessions.begin() as session:
            found = await subscriptions.with_license(session, attempt.license_id, lock=True)
            assert found is not None
            sub, license_row = found
            order = await orders.get(session, order_id, lock=True)
            assert order is not None
            order.failure_code = code
            order.payment_status = PaymentStatus.DECLINED.value
            if payment_id:
                order.payment_intent_id = payment_id
            if SubscriptionStatus(sub.status).is_live:
                sub.status = SubscriptionStatus.PAST_DUE.value
                sub.failed_attempts = attempt.attempt + 1
                if attempt.grace_until and (
                    license_row.expires_at is None or license_row.expires_at < attempt.grace_until
                ):
                    license_row.expires_at = attempt.grace_until
        return RenewalResult(succeeded=False, decline_code=code)

    async def _renewed(self, attempt: RenewalAttempt, order_id: int, payment_id: str) -> bool:
        """Book a paid renewal and extend the license; False if the subscription ended
        meanwhile, so nothing is extended."""
        now = datetime.now(UTC)
        async with self.sessions.begin() as session:
            found = await subscriptions.with_license(session, attempt.license_id, lock=True)
            assert found is not None
            sub, license_row = found
            order = await orders.get(session, order_id, lock=True)
            assert order is not None
            if order.status == OrderStatus.COMPLETED:
                return True
            if not SubscriptionStatus(sub.status).is_live:
                return False
            order.status = OrderStatus.COMPLETED.value
            order.payment_status = PaymentStatus.SUCCEEDED.value
            order.payment_intent_id = payment_id
            order.failure_code = None
            order.paid_at = now
            line = order.items[0]
            await book_sale(session, order, line, now)
            sub.period_number = attempt.period_number
            sub.current_period_start = sub.current_period_end
            sub.current_period_end = period_end(
                sub.billing_anchor, SubscriptionPeriod(sub.period), attempt.period_number
            )
            sub.status = SubscriptionStatus.ACTIVE.value
            sub.failed_attempts = 0
            license_row.license_type = LicenseKind.SUBSCRIPTION.value
            license_row.status = LicenseStatus.ACTIVE.value
            license_row.expires_at = sub.current_period_end
        await self._mail(
            attempt.license_id,
            f"renewed-{attempt.license_id}-{attempt.period_number}",
            "Your subscription was renewed",
            "Your subscription was renewed; the receipt is under your orders.",
            kind="subscription_renewed",
        )
        return True

    @activity.defn(name="subscription.end")
    async def end(self, request: EndRequest) -> None:
        """Stop the subscription and end its license now (cancelled at period end, trial
        over without a payment method, or dunning gave up). A renewal order left unpaid
        by dunning is closed as failed."""
        now = request.at or datetime.now(UTC)
        async with self.sessions.begin() as session:
            found = await subscriptions.with_license(session, request.license_id, lock=True)
            if found is None:
                return
            sub, license_row = found
            if not SubscriptionStatus(sub.status).is_live:
                return
            unpaid = await orders.by_number(
                session, renewal_order_number(request.license_id, sub.period_number + 1)
            )
            if unpaid is not None and unpaid.status == OrderStatus.PENDING:
                unpaid.status = OrderStatus.FAILED.value
                unpaid.failure_code = unpaid.failure_code or request.reason
            sub.status = request.status.value
            sub.ended_at = now
            license_row.status = (
                LicenseStatus.CANCELLED.value
                if request.status is SubscriptionStatus.CANCELLED
                else LicenseStatus.EXPIRED.value
            )
            if license_row.expires_at is None or license_row.expires_at > now:
                license_row.expires_at = now
        texts = {
            "cancelled": "Your subscription ended at the end of its period, as you asked.",
            "trial_ended": "Your trial ended. Buy the module to keep using it.",
            "payment_failed": (
                "We could not charge your payment method after several attempts, so your "
                "license has expired. Buy again to continue."
            ),
        }
        await self._mail(
            request.license_id,
            f"ended-{request.license_id}",
            "Your license has ended",
            texts.get(request.reason, "Your license has ended."),
            kind="license_ended",
        )

    @activity.defn(name="subscription.remind_expiry")
    async def remind_expiry(self, license_id: int, period_number: int) -> None:
        async with self.sessions() as session:
            found = await subscriptions.with_license(session, license_id)
            module = await modules.get_module(session, found[1].module_id) if found else None
        if found is None:
            return
        sub, license_row = found
        name = module.display_name if module is not None else "your module"
        ending = f" (key ending {license_row.key_last})" if license_row.key_last else ""
        links = (
            f"\n\nYour licenses: {self.public_base_url}/api/v1/marketplace/licenses"
            if self.public_base_url
            else ""
        )
        await self._mail(
            license_id,
            f"expiring-{license_id}-{period_number}",
            f"Your license for {name} expires soon",
            f"Your license for {name}{ending} ends on "
            f"{sub.current_period_end:%Y-%m-%d %H:%M} UTC and will not renew. "
            "Add a payment method or resume the subscription to keep it." + links,
            kind="license_expiring",
        )

    async def _mail(self, license_id: int, key: str, subject: str, body: str, *, kind: str) -> None:
        async with self.sessions() as session:
            found = await subscriptions.with_license(session, license_id)
            user = await users.get_user(session, found[0].user_id) if found else None
        if user is None:
            return
        await queue_mail(
            self.sessions,
            self.mailer,
            self.mail_from,
            key=key,
            kind=kind,
            to=user.email,
            subject=subject,
            body=body,
        )


def grace_until(now: datetime, remaining_delays: list[int]) -> datetime:
    """How long a past-due license stays valid: through the remaining retries, plus a day."""
    return now + timedelta(days=sum(remaining_delays) + 1)
