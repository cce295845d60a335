"""Trials and the buyer's control of a subscription: start a trial, look, cancel, resume."""

from fastapi import APIRouter, status

from api.deps import (
    AccountPrincipal,
    GatewaysDep,
    LicenseVaultDep,
    SessionDep,
    WorkflowsDep,
)
from api.params import LicenseKeyPath, SlugPath
from api.schemas.subscriptions import SubscriptionOut, TrialIn, TrialOut
from services import subscriptions
from services.subscriptions import SubscriptionDetails

router = APIRouter(prefix="/api/v1/marketplace", tags=["subscriptions"])


def _subscription_out(details: SubscriptionDetails) -> SubscriptionOut:
    sub = details.subscription
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
        has_payment_method=details.has_payment_method,
        workflow_id=details.workflow_id,
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
) -> TrialOut:
    """One trial per buyer and module. When it ends it becomes a paid subscription if a
    payment method is on file, else the license expires."""
    trial = await subscriptions.start_trial(
        session,
        principal.user,
        slug,
        gateway=body.gateway,
        payment_method=body.payment_method,
        gateways=gateways,
        vault=vault,
        workflows=temporal,
    )
    expires_at = trial.license.expires_at
    assert expires_at is not None  # a trial license always ends
    return TrialOut(
        license_id=trial.license.id,
        license_key=trial.license_key,
        expires_at=expires_at,
        subscription=_subscription_out(trial.subscription),
    )


@router.get("/licenses/{key}/subscription", response_model=SubscriptionOut)
async def subscription_details(
    key: LicenseKeyPath, principal: AccountPrincipal, session: SessionDep
) -> SubscriptionOut:
    return _subscription_out(await subscriptions.details(session, principal.user.id, key))


@router.post("/licenses/{key}/subscription/cancel", response_model=SubscriptionOut)
async def cancel_subscription(
    key: LicenseKeyPath, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
) -> SubscriptionOut:
    """Stop renewing; the license stays valid until the current period ends."""
    return _subscription_out(
        await subscriptions.cancel_or_resume(
            session, principal.user.id, key, cancel=True, workflows=temporal
        )
    )


@router.post("/licenses/{key}/subscription/resume", response_model=SubscriptionOut)
async def resume_subscription(
    key: LicenseKeyPath, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
) -> SubscriptionOut:
    """Undo a cancel before the period ends."""
    return _subscription_out(
        await subscriptions.cancel_or_resume(
            session, principal.user.id, key, cancel=False, workflows=temporal
        )
    )
