"""Download and view events, and publisher payouts (spec §2.5)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class ModuleDownload(Base, TimestampMixin):
    __tablename__ = "marketplace_downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("marketplace_module_versions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    license_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_licenses.id"))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    country_code: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(100))
    download_type: Mapped[str] = mapped_column(
        String(20), default="manual", server_default="manual"
    )
    referrer: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_marketplace_downloads_module_time", "module_id", "created_at"),)


class ModuleView(Base, TimestampMixin):
    __tablename__ = "marketplace_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    referrer: Mapped[str | None] = mapped_column(String(500))
    country_code: Mapped[str | None] = mapped_column(String(2))
    user_agent: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_marketplace_views_module_time", "module_id", "created_at"),
        Index("ix_marketplace_views_session", "module_id", "session_id", "created_at"),
    )


class PublisherPayout(Base, TimestampMixin):
    __tablename__ = "marketplace_payouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("marketplace_publishers.id"))
    gross_amount: Mapped[Decimal]
    platform_fee: Mapped[Decimal]
    net_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending", index=True
    )
    payout_method: Mapped[str | None] = mapped_column(String(20))
    payout_id: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime | None]
    order_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    carried_in: Mapped[Decimal] = mapped_column(
        default=Decimal(0), server_default="0", comment="net carried over from earlier months"
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("publisher_id", "period_start", "period_end"),)
