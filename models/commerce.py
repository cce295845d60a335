"""Orders, licenses and their activations (spec §2.3), and the cart."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


class Order(Base, TimestampMixin):
    __tablename__ = "marketplace_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(50), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    items: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    subtotal: Mapped[Decimal]
    discount_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    tax_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    total: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    coupon_code: Mapped[str | None] = mapped_column(String(50))
    coupon_id: Mapped[int | None] = mapped_column(Integer)
    payment_method: Mapped[str | None] = mapped_column(String(20))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100), index=True)
    payment_status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending"
    )
    paid_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending", index=True
    )
    billing_email: Mapped[str | None] = mapped_column(String(200))
    billing_name: Mapped[str | None] = mapped_column(String(200))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    invoice_id: Mapped[str | None] = mapped_column(String(100))

    licenses: Mapped[list["License"]] = relationship(back_populates="order")


class License(Base, TimestampMixin):
    __tablename__ = "marketplace_licenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_key: Mapped[str] = mapped_column(
        String(64), unique=True, index=True, comment="SHA-256 of the normalized key"
    )
    key_ciphertext: Mapped[str | None] = mapped_column(Text, comment="AES-GCM, for the owner")
    key_last: Mapped[str | None] = mapped_column(String(5))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_module_versions.id"))
    license_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    purchased_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    max_instances: Mapped[int] = mapped_column(default=1, server_default="1")
    max_users: Mapped[int | None]
    instance_domains: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_orders.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(100))

    order: Mapped[Order | None] = relationship(back_populates="licenses")
    activations: Mapped[list["LicenseActivation"]] = relationship(back_populates="license")


class LicenseActivation(Base, TimestampMixin):
    __tablename__ = "marketplace_license_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_licenses.id", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[str] = mapped_column(String(64))
    domain: Mapped[str | None] = mapped_column(String(200))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    activated_at: Mapped[datetime]
    last_check: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    deactivated_at: Mapped[datetime | None]

    license: Mapped[License] = relationship(back_populates="activations")

    __table_args__ = (UniqueConstraint("license_id", "instance_id"),)


class CartItem(Base, TimestampMixin):
    __tablename__ = "marketplace_cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("user_id", "module_id"),)


class ProcessedWebhookEvent(Base, TimestampMixin):
    """Webhook events already applied, so a replayed delivery changes nothing."""

    __tablename__ = "marketplace_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("provider", "event_id"),)
