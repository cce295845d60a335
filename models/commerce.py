"""Orders, licenses and their activations (spec §2.3), and the cart."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AuditMixin, Base, TimestampMixin


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
    billing_email: Mapped[str | None] = mapped_column(String(320))
    billing_name: Mapped[str | None] = mapped_column(String(200))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    invoice_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(
        String(20), default="purchase", server_default="purchase", comment="purchase | renewal"
    )
    checkout_key: Mapped[str | None] = mapped_column(
        String(100), comment="the buyer's Idempotency-Key: a retried checkout finds this order"
    )
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0), server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(comment="unpaid after this: expired")
    failure_code: Mapped[str | None] = mapped_column(String(50))
    payment_next_action: Mapped[dict[str, Any] | None] = mapped_column(
        comment="what the buyer does next: approval url, client secret"
    )
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    refunded_at: Mapped[datetime | None]

    licenses: Mapped[list["License"]] = relationship(back_populates="order")

    __table_args__ = (UniqueConstraint("user_id", "checkout_key"),)


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
    trial_started_at: Mapped[datetime | None] = mapped_column(
        comment="set on a license that began as a trial: one trial per user and module"
    )
    revoked_at: Mapped[datetime | None]

    order: Mapped[Order | None] = relationship(back_populates="licenses")
    activations: Mapped[list["LicenseActivation"]] = relationship(back_populates="license")

    __table_args__ = (
        UniqueConstraint("order_id", "module_id"),
        Index(
            "uq_marketplace_licenses_one_trial",
            "user_id",
            "module_id",
            unique=True,
            postgresql_where=text("trial_started_at IS NOT NULL"),
        ),
    )


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
    answers_valid_until: Mapped[datetime | None] = mapped_column(
        comment="the latest valid_until of an answer or offline file given to this activation: "
        "the churn limit counts it until then"
    )

    license: Mapped[License] = relationship(back_populates="activations")

    __table_args__ = (
        Index(
            "uq_marketplace_license_activations_active_instance",
            "license_id",
            "instance_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )


class CartItem(Base, TimestampMixin):
    __tablename__ = "marketplace_cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("user_id", "module_id"),)


class PaymentProfile(Base, TimestampMixin):
    """A buyer's customer and saved payment method at one gateway, for renewals."""

    __tablename__ = "marketplace_payment_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    gateway: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str | None] = mapped_column(String(100))
    payment_method: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("user_id", "gateway"),)


class Coupon(Base, TimestampMixin, AuditMixin):
    __tablename__ = "marketplace_coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True, comment="upper case")
    kind: Mapped[str] = mapped_column(String(10), comment="percent | fixed")
    value: Mapped[Decimal]
    currency: Mapped[str | None] = mapped_column(String(3))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_redemptions: Mapped[int | None]
    redemptions: Mapped[int] = mapped_column(default=0, server_default="0")
    module_ids: Mapped[list[Any] | None] = mapped_column(comment="null: every paid module")
    min_subtotal: Mapped[Decimal | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Subscription(Base, TimestampMixin):
    """The billing state of a subscription or trial license; its workflow drives it."""

    __tablename__ = "marketplace_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_licenses.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id"))
    gateway: Mapped[str | None] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20), comment="monthly | yearly")
    price: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(
        String(20), comment="trialing | active | past_due | cancelled | expired"
    )
    period_number: Mapped[int] = mapped_column(
        default=1, server_default="1", comment="paid periods so far; 0 while trialing"
    )
    billing_anchor: Mapped[datetime] = mapped_column(
        comment="period n ends n months (years) after this, so days never drift"
    )
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    cancelled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class EarningEntry(Base, TimestampMixin):
    """The publishers' ledger: one sale entry per paid order line, one reversal per refund."""

    __tablename__ = "marketplace_earnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("marketplace_publishers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("marketplace_orders.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("marketplace_modules.id"))
    kind: Mapped[str] = mapped_column(String(10), comment="sale | refund")
    gross: Mapped[Decimal]
    commission: Mapped[Decimal]
    net: Mapped[Decimal]
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    payout_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketplace_payouts.id"), index=True, comment="the payout that paid it out"
    )

    __table_args__ = (UniqueConstraint("order_id", "module_id", "kind"),)


class OrderRefund(Base, TimestampMixin):
    __tablename__ = "marketplace_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("marketplace_orders.id"), unique=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    initiated_by: Mapped[str] = mapped_column(String(20), comment="buyer | admin | system")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending", comment="pending | succeeded"
    )
    gateway_refund_id: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None]


class ProcessedWebhookEvent(Base, TimestampMixin):
    """Webhook events already applied, so a replayed delivery changes nothing."""

    __tablename__ = "marketplace_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("provider", "event_id"),)
