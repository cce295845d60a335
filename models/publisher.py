"""Publisher accounts and their aggregated statistics (spec §2.1)."""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AuditMixin, Base, TimestampMixin

if TYPE_CHECKING:
    from models.module import MarketplaceModule


class Publisher(Base, TimestampMixin, AuditMixin):
    __tablename__ = "marketplace_publishers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    company_name: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    bio: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(500))
    support_email: Mapped[str | None] = mapped_column(String(200))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    banner_url: Mapped[str | None] = mapped_column(String(500))
    verified: Mapped[bool] = mapped_column(default=False, server_default="false")
    verification_date: Mapped[datetime | None]
    verification_requested_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(
        String(20), default="active", server_default="active", index=True
    )
    stripe_account_id: Mapped[str | None] = mapped_column(String(100))
    paypal_email: Mapped[str | None] = mapped_column(String(200))
    payout_method: Mapped[str] = mapped_column(
        String(20), default="stripe", server_default="stripe"
    )
    commission_rate: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), default=Decimal("30.00"), server_default="30.00"
    )
    social_links: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(Text)

    modules: Mapped[list["MarketplaceModule"]] = relationship(back_populates="publisher")


class PublisherStats(Base, TimestampMixin):
    __tablename__ = "marketplace_publisher_stats"

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_publishers.id", ondelete="CASCADE")
    )
    total_modules: Mapped[int] = mapped_column(default=0, server_default="0")
    total_downloads: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_revenue: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    average_rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    total_reviews: Mapped[int] = mapped_column(default=0, server_default="0")
    period: Mapped[str] = mapped_column(String(10), default="all", server_default="all")
    calculated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("publisher_id", "period"),)
