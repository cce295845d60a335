"""Trials and the buyer's control of a subscription: start a trial, look, cancel, resume."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.deps import (
    AccountPrincipal,
    GatewaysDep,
    LicenseVaultDep,
    SessionDep,
    WorkflowsDep,
)
from api.params import SlugPath
from api.routers.licenses import KeyPath, owned_license
from api.schemas import Strict
from api.schemas.orders import PaymentMethod
from domain import processes
from domain.checkout import Gateway, LicenseKind, SubscriptionStatus
from domain.errors import DomainError, NotFound
from integrations.payments.local import METHOD_PREFIX, TEST_CARDS, card_number_of
from models.commerce import License, Subscription
from models.repositories import discovery, orders, subscriptions
from models.repositories.errors import unique_violations
from services import subscriptions as subscription_service
from services.cart import ensure_purchasable

router = APIRouter(prefix="/api/v1/marketplace", tags=["subscriptions"])


class TrialIn(Strict):
    gateway: Gateway = Gateway.LOCAL
    payment_method: PaymentMethod | None = Field(
        default=None,
        description="local gateway: a test card to charge when the trial ends; other "
        "gateways use the method saved by an earlier checkout",
    )


class SubscriptionOut(BaseModel):
    license_id: int
    status: str
    period: str
    price: Decimal
    currency: str
    period_number: int
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    failed_attempts: int
    has_payment_method: bool
    workflow_id: str


class TrialOut(BaseModel):
    license_id: int
    license_key: str
    expires_at: datetime
    subscription: SubscriptionOut


async def _subscription_out(session, sub: Subscription, workflow_id: str) -> SubscriptionOut:
    profile = await orders.profile(session, sub.user_id, sub.gateway) if sub.gateway else None
    return SubscriptionOut(
        license_id=sub.license_id,
        status=sub.status,
        period=sub.period,
        price=sub.price,
        currency=sub.currency,
        period_number=sub.period_number,
        current_period_start=sub.current_period_start,
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
        failed_attempts=sub.failed_attempts,
        has_payment_method=bool(profile and profile.payment_method),
        workflow_id=workflow_id,
    )


@router.post("/modules/{slug}/trial", status_code=status.HTTP_201_CREATED, response_model=TrialOut)
async def start_trial(
    slug: SlugPath,
    body: TrialIn,
    principal: AccountPrincipal,
    session: SessionDep,
    temporal: WorkflowsDep,
    gateways: GatewaysDep,
    vault: LicenseVaultDep,
):
    """One trial per buyer and module. When it ends it becomes a paid subscription if a
    payment method is on file, else the license expires."""
    module = await discovery.module_by_slug(session, slug)
    await ensure_purchasable(session, principal.user, module)
    assert module is not None
    if not module.trial_days or not module.subscription_period:
        raise DomainError("trial_not_offered", "this module has no trial")
    gateways.get(body.gateway.value)
    if body.payment_method is not None:
        if (
            body.gateway is not Gateway.LOCAL
            or card_number_of(body.payment_method) not in TEST_CARDS
        ):
            raise DomainError(
                "invalid_payment_method",
                "give a local test card here, or check out once with your gateway",
            )
        await orders.save_profile(
            session,
            principal.user.id,
            body.gateway.value,
            customer_id=f"cus_local_{principal.user.id}",
            payment_method=METHOD_PREFIX + (card_number_of(body.payment_method) or ""),
        )
    now = datetime.now(UTC)
    ends = now + timedelta(days=module.trial_days)
    columns = vault.new_key_columns()
    key = vault.open(columns["key_ciphertext"], bound_to=columns["license_key"])
    row = License(
        **columns,
        user_id=principal.user.id,
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
        user_id=principal.user.id,
        module_id=module.id,
        gateway=body.gateway.value,
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
    await subscription_service.start_subscription(temporal, row.id, row.subscription_id)
    return TrialOut(
        license_id=row.id,
        license_key=key or "",
        expires_at=ends,
        subscription=await _subscription_out(session, sub, row.subscription_id),
    )


async def _owned_subscription(session, principal, key: str) -> tuple[Subscription, str]:
    row = await owned_license(session, principal, key)
    sub = await subscriptions.of_license(session, row.id)
    if sub is None or not row.subscription_id:
        raise NotFound("not_a_subscription", "this license is not a subscription")
    return sub, row.subscription_id


@router.get("/licenses/{key}/subscription", response_model=SubscriptionOut)
async def subscription_details(key: KeyPath, principal: AccountPrincipal, session: SessionDep):
    return await _subscription_out(session, *await _owned_subscription(session, principal, key))


async def _change(key: str, principal, session, temporal, cancel: bool) -> SubscriptionOut:
    sub, workflow_id = await _owned_subscription(session, principal, key)
    await session.commit()
    await subscription_service.change_subscription(temporal, workflow_id, cancel=cancel)
    await session.refresh(sub)
    return await _subscription_out(session, sub, workflow_id)


@router.post("/licenses/{key}/subscription/cancel", response_model=SubscriptionOut)
async def cancel_subscription(
    key: KeyPath, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
):
    """Stop renewing; the license stays valid until the current period ends."""
    return await _change(key, principal, session, temporal, cancel=True)


@router.post("/licenses/{key}/subscription/resume", response_model=SubscriptionOut)
async def resume_subscription(
    key: KeyPath, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
):
    """Undo a cancel before the period ends."""
    return await _change(key, principal, session, temporal, cancel=False)
