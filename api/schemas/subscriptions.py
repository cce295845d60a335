"""Request and response bodies of trials and subscriptions."""

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import InCurrency, Money, Strict
from api.schemas.orders import PaymentMethod
from domain.checkout import Gateway


class TrialIn(Strict):
    gateway: Gateway = Gateway.LOCAL
    payment_method: PaymentMethod | None = Field(
        default=None,
        description="local gateway: a test card to charge when the trial ends; other "
        "gateways use the method saved by an earlier checkout",
    )


class SubscriptionOut(InCurrency):
    license_id: int
    status: str
    period: str
    price: Money
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
