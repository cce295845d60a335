"""checkout subscriptions and the earnings ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:11:25.077156
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketplace_coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False, comment="upper case"),
        sa.Column("kind", sa.String(length=10), nullable=False, comment="percent | fixed"),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redemptions", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "module_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="null: every paid module",
        ),
        sa.Column("min_subtotal", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_marketplace_coupons_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_marketplace_coupons_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_marketplace_coupons_code")),
    )
    op.create_table(
        "marketplace_payment_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=True),
        sa.Column("payment_method", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_marketplace_payment_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_payment_profiles")),
        sa.UniqueConstraint(
            "user_id", "gateway", name=op.f("uq_marketplace_payment_profiles_user_id_gateway")
        ),
    )
    op.create_table(
        "marketplace_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "initiated_by", sa.String(length=20), nullable=False, comment="buyer | admin | system"
        ),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.String(length=20),
            server_default="pending",
            nullable=False,
            comment="pending | succeeded",
        ),
        sa.Column("gateway_refund_id", sa.String(length=100), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["marketplace_orders.id"],
            name=op.f("fk_marketplace_refunds_order_id_marketplace_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_marketplace_refunds_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_refunds")),
        sa.UniqueConstraint("order_id", name=op.f("uq_marketplace_refunds_order_id")),
    )
    op.create_table(
        "marketplace_earnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False, comment="sale | refund"),
        sa.Column("gross", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("commission", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("commission_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["marketplace_modules.id"],
            name=op.f("fk_marketplace_earnings_module_id_marketplace_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["marketplace_orders.id"],
            name=op.f("fk_marketplace_earnings_order_id_marketplace_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["marketplace_publishers.id"],
            name=op.f("fk_marketplace_earnings_publisher_id_marketplace_publishers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_earnings")),
        sa.UniqueConstraint(
            "order_id",
            "module_id",
            "kind",
            name=op.f("uq_marketplace_earnings_order_id_module_id_kind"),
        ),
    )
    op.create_index(
        op.f("ix_marketplace_earnings_occurred_at"),
        "marketplace_earnings",
        ["occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_earnings_order_id"), "marketplace_earnings", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_marketplace_earnings_publisher_id"),
        "marketplace_earnings",
        ["publisher_id"],
        unique=False,
    )
    op.create_table(
        "marketplace_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=True),
        sa.Column("period", sa.String(length=20), nullable=False, comment="monthly | yearly"),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.String(length=20),
            nullable=False,
            comment="trialing | active | past_due | cancelled | expired",
        ),
        sa.Column(
            "period_number",
            sa.Integer(),
            server_default="1",
            nullable=False,
            comment="paid periods so far; 0 while trialing",
        ),
        sa.Column(
            "billing_anchor",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="period n ends n months (years) after this, so days never drift",
        ),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["marketplace_licenses.id"],
            name=op.f("fk_marketplace_subscriptions_license_id_marketplace_licenses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["marketplace_modules.id"],
            name=op.f("fk_marketplace_subscriptions_module_id_marketplace_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_subscriptions")),
        sa.UniqueConstraint("license_id", name=op.f("uq_marketplace_subscriptions_license_id")),
    )
    op.create_index(
        op.f("ix_marketplace_subscriptions_user_id"),
        "marketplace_subscriptions",
        ["user_id"],
        unique=False,
    )
    op.add_column(
        "marketplace_licenses",
        sa.Column(
            "trial_started_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="set on a license that began as a trial: one trial per user and module",
        ),
    )
    op.add_column(
        "marketplace_licenses", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "uq_marketplace_licenses_one_trial",
        "marketplace_licenses",
        ["user_id", "module_id"],
        unique=True,
        postgresql_where=sa.text("trial_started_at IS NOT NULL"),
    )
    op.create_unique_constraint(
        op.f("uq_marketplace_licenses_order_id_module_id"),
        "marketplace_licenses",
        ["order_id", "module_id"],
    )
    op.add_column(
        "marketplace_orders",
        sa.Column(
            "kind",
            sa.String(length=20),
            server_default="purchase",
            nullable=False,
            comment="purchase | renewal",
        ),
    )
    op.add_column(
        "marketplace_orders",
        sa.Column(
            "checkout_key",
            sa.String(length=100),
            nullable=True,
            comment="the buyer's Idempotency-Key: a retried checkout finds this order",
        ),
    )
    op.add_column(
        "marketplace_orders",
        sa.Column("tax_rate", sa.Numeric(precision=5, scale=2), server_default="0", nullable=False),
    )
    op.add_column(
        "marketplace_orders",
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="unpaid after this: expired",
        ),
    )
    op.add_column(
        "marketplace_orders", sa.Column("failure_code", sa.String(length=50), nullable=True)
    )
    op.add_column(
        "marketplace_orders",
        sa.Column(
            "payment_next_action",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="what the buyer does next: approval url, client secret",
        ),
    )
    op.add_column(
        "marketplace_orders",
        sa.Column(
            "refunded_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "marketplace_orders", sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_unique_constraint(
        op.f("uq_marketplace_orders_user_id_checkout_key"),
        "marketplace_orders",
        ["user_id", "checkout_key"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_marketplace_orders_user_id_checkout_key"), "marketplace_orders", type_="unique"
    )
    op.drop_column("marketplace_orders", "refunded_at")
    op.drop_column("marketplace_orders", "refunded_amount")
    op.drop_column("marketplace_orders", "payment_next_action")
    op.drop_column("marketplace_orders", "failure_code")
    op.drop_column("marketplace_orders", "expires_at")
    op.drop_column("marketplace_orders", "tax_rate")
    op.drop_column("marketplace_orders", "checkout_key")
    op.drop_column("marketplace_orders", "kind")
    op.drop_constraint(
        op.f("uq_marketplace_licenses_order_id_module_id"), "marketplace_licenses", type_="unique"
    )
    op.drop_index(
        "uq_marketplace_licenses_one_trial",
        table_name="marketplace_licenses",
        postgresql_where=sa.text("trial_started_at IS NOT NULL"),
    )
    op.drop_column("marketplace_licenses", "revoked_at")
    op.drop_column("marketplace_licenses", "trial_started_at")
    op.drop_index(
        op.f("ix_marketplace_subscriptions_user_id"), table_name="marketplace_subscriptions"
    )
    op.drop_table("marketplace_subscriptions")
    op.drop_index(op.f("ix_marketplace_earnings_publisher_id"), table_name="marketplace_earnings")
    op.drop_index(op.f("ix_marketplace_earnings_order_id"), table_name="marketplace_earnings")
    op.drop_index(op.f("ix_marketplace_earnings_occurred_at"), table_name="marketplace_earnings")
    op.drop_table("marketplace_earnings")
    op.drop_table("marketplace_refunds")
    op.drop_table("marketplace_payment_profiles")
    op.drop_table("marketplace_coupons")
