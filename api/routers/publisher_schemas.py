from datetime import datetime
from decimal import Decimal
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

from api.schemas import Strict
from domain.slugs import SLUG_MAX, SLUG_PATTERN

Url = Annotated[HttpUrl, UrlConstraints(max_length=500), PlainSerializer(str, return_type=str)]
LinkName = Annotated[str, StringConstraints(min_length=1, max_length=30)]


class PublisherFields(Strict):
    display_name: str = Field(min_length=1, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(default=None, max_length=5000)
    website: Url | None = None
    support_email: EmailStr | None = Field(default=None, max_length=200)
    logo_url: Url | None = None
    banner_url: Url | None = None
    social_links: dict[LinkName, Url] = Field(default_factory=dict, max_length=10)


class PublisherRegisterIn(PublisherFields):
    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)


class PublisherUpdateIn(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(default=None, max_length=5000)
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
