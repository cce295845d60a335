"""Publishers: the profile a publisher keeps, and what admins see and decide of it."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    UrlConstraints,
)

from api.schemas import InCurrency, Money, MultiLine, SingleLine, Strict
from domain.review import REASON_MAX
from domain.slugs import SLUG_MAX, SLUG_PATTERN

Url = Annotated[HttpUrl, UrlConstraints(max_length=500), PlainSerializer(str, return_type=str)]
LinkName = Annotated[SingleLine, StringConstraints(min_length=1, max_length=30)]


class PublisherFields(Strict):
    display_name: SingleLine = Field(min_length=1, max_length=100)
    company_name: SingleLine | None = Field(default=None, max_length=200)
    bio: MultiLine | None = Field(default=None, max_length=5000)
    website: Url | None = None
    support_email: EmailStr | None = Field(default=None, max_length=200)
    logo_url: Url | None = None
    banner_url: Url | None = None
    social_links: dict[LinkName, Url] = Field(default_factory=dict, max_length=10)


class PublisherRegisterIn(PublisherFields):
    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)


class PublisherUpdateIn(Strict):
    display_name: SingleLine | None = Field(default=None, min_length=1, max_length=100)
    company_name: SingleLine | None = Field(default=None, max_length=200)
    bio: MultiLine | None = Field(default=None, max_length=5000)
    website: Url | None = None
    support_email: EmailStr | None = Field(default=None, max_length=200)
    logo_url: Url | None = None
    banner_url: Url | None = None
    social_links: dict[LinkName, Url] | None = Field(default=None, max_length=10)


class PublisherOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    display_name: str
    company_name: str | None
    bio: str | None
    website: str | None
    support_email: str | None
    logo_url: str | None
    banner_url: str | None
    social_links: dict[str, str]
    verified: bool
    verification_date: datetime | None
    verification_requested_at: datetime | None
    status: str
    commission_rate: Decimal
    created_at: datetime


# --- admin management --------------------------------------------------------------------

SEARCH_TEXT_MAX = 100


class PublisherStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class PublisherSort(StrEnum):
    NEWEST = "newest"
    NAME = "name"
    REVENUE = "revenue"
    """Ledger gross net of refunds, summed over currencies: a ranking only."""


class AdminPublisherOut(PublisherOut):
    owner_email: str
    module_count: int
    suspended_at: datetime | None
    suspension_reason: str | None


class PublisherRevenueOut(InCurrency):
    currency: str
    gross: Money
    commission: Money
    net: Money


class AdminPublisherDetail(AdminPublisherOut):
    user_id: int
    payout_method: str
    paypal_email: str | None
    stripe_account_id: str | None
    modules_by_status: dict[str, int]
    revenue: list[PublisherRevenueOut] = Field(description="Sales less refunds, per currency")


class SuspendIn(Strict):
    reason: MultiLine = Field(min_length=1, max_length=REASON_MAX)


class ReinstateIn(Strict):
    note: MultiLine | None = Field(default=None, max_length=REASON_MAX)
