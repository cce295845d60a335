"""Subscriptions and trials: one workflow per subscription license bills it period by
period; the buyer starts a trial, and cancels and resumes through the workflow."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.checkout import (
    Gateway,
    LicenseKind,
    SubscriptionInput,
    SubscriptionStatus,
    SubscriptionView,
)
from domain.errors import Conflict, DomainError, NotFound
from integrations.license_vault import LicenseVault
from integrations.payments.local import METHOD_PREFIX, TEST_CARDS, card_number_of
from integrations.payments.registry import Gateways
from integrations.temporal.front_door import TemporalFrontDoor
from models.commerce import License, Subscription
from models.repositories import discovery, orders, subscriptions
from models.repositories.errors import unique_violations
from models.user import User
from services.cart import ensure_purchasable
from services.licensing import owned_license


@dataclass(frozen=True)
class SubscriptionDetails:
    """A subscription's billing state, its workflow, and whether a payment method is on
    file to charge the next period."""

    subscription: Subscription
    workflow_id: str
    has_payment_method: bool


@dataclass(frozen=True)
class Trial:
    license: License
    license_key: str
    """The full key, shown to the buyer once, now."""
    subscription: SubscriptionDetails


async def start_subscription(
    workflows: TemporalFrontDoor, license_id: int, workflow_id: str
) -> str:
    """``workflow_id``: the one stored on the license (``licenses.subscription_id``)."""
    await workflows.start(
        processes.Subscription.TYPE,
        SubscriptionInput(license_id=license_id),
        workflow_id=workflow_id,
    )
    return workflow_id


async def change_subscription(
    workflows: TemporalFrontDoor, workflow_id: str, *, cancel: bool
) -> SubscriptionView:
    view = await workflows.update(
        workflow_id,
        processes.Subscription.CANCEL if cancel else processes.Subscription.RESUME,
        result_type=SubscriptionView,
        when_gone=Conflict("subscription_ended", "this subscription no longer runs"),
    )
    assert view is not None
    return view


async def _details(
    session: AsyncSession, sub: Subscription, workflow_id: str
) -> SubscriptionDetails:
    profile = await orders.profile(session, sub.user_id, sub.gateway) if sub.gateway else None
    return SubscriptionDetails(
        subscription=sub,
        workflow_id=workflow_id,
        has_payment_method=bool(profile and profile.payment_method),
    )


async def start_trial(
    session: AsyncSession,
    user: User,
    slug: str,
    *,
    gateway: Gateway,
    payment_method: str | None,
    gateways: Gateways,
    vault: LicenseVault,
    workflows: TemporalFrontDoor,
) -> Trial:
    """One trial per buyer and module. When it ends it becomes a paid subscription if a
    payment method is on file, else the license expires. ``payment_method``: a local test
    card to charge then; other gateways use the method saved by an earlier checkout."""
    module = await discovery.module_by_slug(session, slug)
    await ensure_purchasable(session, user, module)
    assert module is not None
    if not module.trial_days or not module.subscription_period:
        raise DomainError("trial_not_offered", "this module has no trial")
    gateways.get(gateway.value)
    if payment_method is not None:
        if gateway is not Gateway.LOCAL or card_number_of(payment_method) not in TEST_CARDS:
            raise DomainError(
                "invalid_payment_method",
                "give a local test card here, or check out once with your gateway",
            )
        await orders.save_profile(
            session,
            user.id,
            gateway.value,
            customer_id=f"cus_local_{user.id}",
            payment_method=METHOD_PREFIX + (card_number_of(payment_method) or ""),
        )
    now = datetime.now(UTC)
    ends = now + timedelta(days=module.trial_days)
    columns = vault.new_key_columns()
    key = vault.open(columns["key_ciphertext"], bound_to=columns["license_key"])
    row = License(
        **columns,
        user_id=user.id,
        module_id=module.id,
        license_type=LicenseKind.TRIAL.value,
        status="active",
        activated_at=now,
        expires_at=ends,
        trial_started_at=now,
    )
    async with unique_violations(
        session,
        {
            "uq_marketplace_licenses_one_trial": (
                "trial_already_used",
                "you have already had a trial of this module",
            )
        },
    ):
        session.add(row)
    row.subscription_id = processes.Subscription.workflow_id(row.id, row.license_key)
    sub = Subscription(
        license_id=row.id,
        user_id=user.id,
        module_id=module.id,
        gateway=gateway.value,
        period=module.subscription_period,
        price=module.price or Decimal("0.00"),
        currency=module.currency,
        status=SubscriptionStatus.TRIALING.value,
        period_number=0,
        billing_anchor=ends,
        current_period_start=now,
        current_period_end=ends,
    )
    session.add(sub)
    await session.commit()
    await start_subscription(workflows, row.id, row.subscription_id)
    return Trial(
        license=row,
        license_key=key or "",
        subscription=await _details(session, sub, row.subscription_id),
    )


async def _owned_subscription(
    session: AsyncSession, user_id: int, key: str
) -> tuple[Subscription, str]:
    row = await owned_license(session, user_id, key)
    sub = await subscriptions.of_license(session, row.id)
    if sub is None or not row.subscription_id:
        raise NotFound("not_a_subscription", "this license is not a subscription")
    return sub, row.subscription_id


async def details(session: AsyncSession, user_id: int, key: str) -> SubscriptionDetails:
    """The subscription of the caller's license ``key``."""
    return await _details(session, *await _owned_subscription(session, user_id, key))


async def cancel_or_resume(
    session: AsyncSession,
    user_id: int,
    key: str,
    *,
    cancel: bool,
    workflows: TemporalFrontDoor,
) -> SubscriptionDetails:
    """Stop renewing at the period's end (``cancel``), or undo that before it ends: the
    subscription's workflow decides and writes; answers the state it left."""
    sub, workflow_id = await _owned_subscription(session, user_id, key)
    await session.commit()
    await change_subscription(workflows, workflow_id, cancel=cancel)
    await session.refresh(sub)
    return await _details(session, sub, workflow_id)
