"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 21:26:12.716936
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketplace_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("icon", sa.String(length=50), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("module_count", sa.Integer(), server_default="0", nullable=False),
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
            ["parent_id"],
            ["marketplace_categories.id"],
            name=op.f("fk_marketplace_categories_parent_id_marketplace_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_categories")),
    )
    op.create_index(
        op.f("ix_marketplace_categories_parent_id"),
        "marketplace_categories",
        ["parent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_categories_slug"), "marketplace_categories", ["slug"], unique=True
    )
    op.create_table(
        "marketplace_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_webhook_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_marketplace_webhook_events_provider_event_id")
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), server_default="consumer", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
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
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column(
            "changes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
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
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "created_at"], unique=False)
    op.create_index(
        "ix_audit_log_entity", "audit_log", ["entity_type", "entity_id", "created_at"], unique=False
    )
    op.create_table(
        "marketplace_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=50), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "items", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "discount_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "tax_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("coupon_code", sa.String(length=50), nullable=True),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        sa.Column("payment_method", sa.String(length=20), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=100), nullable=True),
        sa.Column("payment_status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("billing_email", sa.String(length=200), nullable=True),
        sa.Column("billing_name", sa.String(length=200), nullable=True),
        sa.Column("billing_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("invoice_id", sa.String(length=100), nullable=True),
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
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_orders_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_orders")),
    )
    op.create_index(
        op.f("ix_marketplace_orders_order_number"),
        "marketplace_orders",
        ["order_number"],
        unique=True,
    )
    op.create_index(
        op.f("ix_marketplace_orders_payment_intent_id"),
        "marketplace_orders",
        ["payment_intent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_orders_status"), "marketplace_orders", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_marketplace_orders_user_id"), "marketplace_orders", ["user_id"], unique=False
    )
    op.create_table(
        "marketplace_publishers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("support_email", sa.String(length=200), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("banner_url", sa.String(length=500), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("verification_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("stripe_account_id", sa.String(length=100), nullable=True),
        sa.Column("paypal_email", sa.String(length=200), nullable=True),
        sa.Column("payout_method", sa.String(length=20), server_default="stripe", nullable=False),
        sa.Column(
            "commission_rate",
            sa.Numeric(precision=5, scale=2),
            server_default="30.00",
            nullable=False,
        ),
        sa.Column(
            "social_links",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
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
            name=op.f("fk_marketplace_publishers_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_marketplace_publishers_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_publishers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_publishers")),
        sa.UniqueConstraint("user_id", name=op.f("uq_marketplace_publishers_user_id")),
    )
    op.create_index(
        op.f("ix_marketplace_publishers_slug"), "marketplace_publishers", ["slug"], unique=True
    )
    op.create_index(
        op.f("ix_marketplace_publishers_status"), "marketplace_publishers", ["status"], unique=False
    )
    op.create_table(
        "platform_settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
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
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_platform_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_platform_settings")),
    )
    op.create_table(
        "marketplace_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("technical_name", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("short_description", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("license_type", sa.String(length=20), server_default="free", nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("subscription_period", sa.String(length=20), nullable=True),
        sa.Column("trial_days", sa.Integer(), nullable=True),
        sa.Column("icon_url", sa.String(length=500), nullable=True),
        sa.Column("banner_url", sa.String(length=500), nullable=True),
        sa.Column(
            "screenshots",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("video_url", sa.String(length=500), nullable=True),
        sa.Column(
            "tags", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "keywords", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column(
            "fastvue_versions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "python_versions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "dependencies",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "external_dependencies",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("featured", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("featured_order", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(length=20), server_default="public", nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("download_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("install_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("view_count", sa.BigInteger(), server_default="0", nullable=False),
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
            ["category_id"],
            ["marketplace_categories.id"],
            name=op.f("fk_marketplace_modules_category_id_marketplace_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_marketplace_modules_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["marketplace_publishers.id"],
            name=op.f("fk_marketplace_modules_publisher_id_marketplace_publishers"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["users.id"],
            name=op.f("fk_marketplace_modules_reviewed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_marketplace_modules_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_modules")),
    )
    op.create_index(
        op.f("ix_marketplace_modules_category_id"),
        "marketplace_modules",
        ["category_id"],
        unique=False,
    )
    op.create_index(
        "ix_marketplace_modules_pending_queue",
        "marketplace_modules",
        ["status", "submitted_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_modules_publisher_id"),
        "marketplace_modules",
        ["publisher_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_modules_slug"), "marketplace_modules", ["slug"], unique=True
    )
    op.create_index(
        op.f("ix_marketplace_modules_status"), "marketplace_modules", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_marketplace_modules_technical_name"),
        "marketplace_modules",
        ["technical_name"],
        unique=True,
    )
    op.create_table(
        "marketplace_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("gross_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("platform_fee", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("payout_method", sa.String(length=20), nullable=True),
        sa.Column("payout_id", sa.String(length=100), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "order_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
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
            ["publisher_id"],
            ["marketplace_publishers.id"],
            name=op.f("fk_marketplace_payouts_publisher_id_marketplace_publishers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_payouts")),
        sa.UniqueConstraint(
            "publisher_id",
            "period_start",
            "period_end",
            name=op.f("uq_marketplace_payouts_publisher_id_period_start_period_end"),
        ),
    )
    op.create_index(
        op.f("ix_marketplace_payouts_status"), "marketplace_payouts", ["status"], unique=False
    )
    op.create_table(
        "marketplace_publisher_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("total_modules", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_downloads", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "total_revenue", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column("average_rating", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column("total_reviews", sa.Integer(), server_default="0", nullable=False),
        sa.Column("period", sa.String(length=10), server_default="all", nullable=False),
        sa.Column("calculated_at", sa.DateTime(timezone=True), nullable=False),
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
            ["publisher_id"],
            ["marketplace_publishers.id"],
            name=op.f("fk_marketplace_publisher_stats_publisher_id_marketplace_publishers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_publisher_stats")),
        sa.UniqueConstraint(
            "publisher_id",
            "period",
            name=op.f("uq_marketplace_publisher_stats_publisher_id_period"),
        ),
    )
    op.create_table(
        "marketplace_cart_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
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
            name=op.f("fk_marketplace_cart_items_module_id_marketplace_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_marketplace_cart_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_cart_items")),
        sa.UniqueConstraint(
            "user_id", "module_id", name=op.f("uq_marketplace_cart_items_user_id_module_id")
        ),
    )
    op.create_index(
        op.f("ix_marketplace_cart_items_user_id"),
        "marketplace_cart_items",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "marketplace_module_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("semver_major", sa.Integer(), nullable=True),
        sa.Column("semver_minor", sa.Integer(), nullable=True),
        sa.Column("semver_patch", sa.Integer(), nullable=True),
        sa.Column("zip_file_url", sa.String(length=500), nullable=False),
        sa.Column("zip_file_size", sa.BigInteger(), nullable=True),
        sa.Column("zip_file_hash", sa.String(length=64), nullable=True),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("changelog", sa.Text(), nullable=True),
        sa.Column("release_notes", sa.Text(), nullable=True),
        sa.Column("min_fastvue_version", sa.String(length=20), nullable=True),
        sa.Column("max_fastvue_version", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("is_latest", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_prerelease", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("download_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
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
            name=op.f("fk_marketplace_module_versions_module_id_marketplace_modules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_module_versions")),
        sa.UniqueConstraint("module_id", "version", name="uq_module_version"),
    )
    op.create_index(
        op.f("ix_marketplace_module_versions_module_id"),
        "marketplace_module_versions",
        ["module_id"],
        unique=False,
    )
    op.create_table(
        "marketplace_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
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
            name=op.f("fk_marketplace_views_module_id_marketplace_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_views_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_views")),
    )
    op.create_index(
        "ix_marketplace_views_module_time",
        "marketplace_views",
        ["module_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "marketplace_licenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("license_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_instances", sa.Integer(), server_default="1", nullable=False),
        sa.Column("max_users", sa.Integer(), nullable=True),
        sa.Column(
            "instance_domains",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subscription_id", sa.String(length=100), nullable=True),
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
            name=op.f("fk_marketplace_licenses_module_id_marketplace_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["marketplace_orders.id"],
            name=op.f("fk_marketplace_licenses_order_id_marketplace_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_licenses_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["marketplace_module_versions.id"],
            name=op.f("fk_marketplace_licenses_version_id_marketplace_module_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_licenses")),
    )
    op.create_index(
        op.f("ix_marketplace_licenses_license_key"),
        "marketplace_licenses",
        ["license_key"],
        unique=True,
    )
    op.create_index(
        op.f("ix_marketplace_licenses_module_id"),
        "marketplace_licenses",
        ["module_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_licenses_order_id"), "marketplace_licenses", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_marketplace_licenses_user_id"), "marketplace_licenses", ["user_id"], unique=False
    )
    op.create_table(
        "marketplace_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("helpful_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("publisher_response", sa.Text(), nullable=True),
        sa.Column("publisher_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("verified_purchase", sa.Boolean(), server_default="false", nullable=False),
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
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_marketplace_reviews_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_marketplace_reviews_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["marketplace_modules.id"],
            name=op.f("fk_marketplace_reviews_module_id_marketplace_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_marketplace_reviews_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_reviews_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["marketplace_module_versions.id"],
            name=op.f("fk_marketplace_reviews_version_id_marketplace_module_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_reviews")),
        sa.UniqueConstraint("module_id", "user_id", name="uq_module_review_user"),
    )
    op.create_index(
        op.f("ix_marketplace_reviews_module_id"), "marketplace_reviews", ["module_id"], unique=False
    )
    op.create_index(
        op.f("ix_marketplace_reviews_user_id"), "marketplace_reviews", ["user_id"], unique=False
    )
    op.create_table(
        "marketplace_downloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("license_id", sa.Integer(), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("download_type", sa.String(length=20), server_default="manual", nullable=False),
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
            name=op.f("fk_marketplace_downloads_license_id_marketplace_licenses"),
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["marketplace_modules.id"],
            name=op.f("fk_marketplace_downloads_module_id_marketplace_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_downloads_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["marketplace_module_versions.id"],
            name=op.f("fk_marketplace_downloads_version_id_marketplace_module_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_downloads")),
    )
    op.create_index(
        "ix_marketplace_downloads_module_time",
        "marketplace_downloads",
        ["module_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "marketplace_license_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=200), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_check", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_marketplace_license_activations_license_id_marketplace_licenses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_license_activations")),
        sa.UniqueConstraint(
            "license_id",
            "instance_id",
            name=op.f("uq_marketplace_license_activations_license_id_instance_id"),
        ),
    )
    op.create_index(
        op.f("ix_marketplace_license_activations_license_id"),
        "marketplace_license_activations",
        ["license_id"],
        unique=False,
    )
    op.create_table(
        "marketplace_review_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
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
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_marketplace_review_reports_reporter_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["marketplace_reviews.id"],
            name=op.f("fk_marketplace_review_reports_review_id_marketplace_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_review_reports")),
        sa.UniqueConstraint(
            "review_id",
            "reporter_id",
            name=op.f("uq_marketplace_review_reports_review_id_reporter_id"),
        ),
    )
    op.create_index(
        op.f("ix_marketplace_review_reports_review_id"),
        "marketplace_review_reports",
        ["review_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_marketplace_review_reports_status"),
        "marketplace_review_reports",
        ["status"],
        unique=False,
    )
    op.create_table(
        "marketplace_review_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(length=10), nullable=False),
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
            ["review_id"],
            ["marketplace_reviews.id"],
            name=op.f("fk_marketplace_review_votes_review_id_marketplace_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marketplace_review_votes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_review_votes")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_review_vote_user"),
    )


def downgrade() -> None:
    op.drop_table("marketplace_review_votes")
    op.drop_index(
        op.f("ix_marketplace_review_reports_status"), table_name="marketplace_review_reports"
    )
    op.drop_index(
        op.f("ix_marketplace_review_reports_review_id"), table_name="marketplace_review_reports"
    )
    op.drop_table("marketplace_review_reports")
    op.drop_index(
        op.f("ix_marketplace_license_activations_license_id"),
        table_name="marketplace_license_activations",
    )
    op.drop_table("marketplace_license_activations")
    op.drop_index("ix_marketplace_downloads_module_time", table_name="marketplace_downloads")
    op.drop_table("marketplace_downloads")
    op.drop_index(op.f("ix_marketplace_reviews_user_id"), table_name="marketplace_reviews")
    op.drop_index(op.f("ix_marketplace_reviews_module_id"), table_name="marketplace_reviews")
    op.drop_table("marketplace_reviews")
    op.drop_index(op.f("ix_marketplace_licenses_user_id"), table_name="marketplace_licenses")
    op.drop_index(op.f("ix_marketplace_licenses_order_id"), table_name="marketplace_licenses")
    op.drop_index(op.f("ix_marketplace_licenses_module_id"), table_name="marketplace_licenses")
    op.drop_index(op.f("ix_marketplace_licenses_license_key"), table_name="marketplace_licenses")
    op.drop_table("marketplace_licenses")
    op.drop_index("ix_marketplace_views_module_time", table_name="marketplace_views")
    op.drop_table("marketplace_views")
    op.drop_index(
        op.f("ix_marketplace_module_versions_module_id"), table_name="marketplace_module_versions"
    )
    op.drop_table("marketplace_module_versions")
    op.drop_index(op.f("ix_marketplace_cart_items_user_id"), table_name="marketplace_cart_items")
    op.drop_table("marketplace_cart_items")
    op.drop_table("marketplace_publisher_stats")
    op.drop_index(op.f("ix_marketplace_payouts_status"), table_name="marketplace_payouts")
    op.drop_table("marketplace_payouts")
    op.drop_index(op.f("ix_marketplace_modules_technical_name"), table_name="marketplace_modules")
    op.drop_index(op.f("ix_marketplace_modules_status"), table_name="marketplace_modules")
    op.drop_index(op.f("ix_marketplace_modules_slug"), table_name="marketplace_modules")
    op.drop_index(op.f("ix_marketplace_modules_publisher_id"), table_name="marketplace_modules")
    op.drop_index("ix_marketplace_modules_pending_queue", table_name="marketplace_modules")
    op.drop_index(op.f("ix_marketplace_modules_category_id"), table_name="marketplace_modules")
    op.drop_table("marketplace_modules")
    op.drop_table("platform_settings")
    op.drop_index(op.f("ix_marketplace_publishers_status"), table_name="marketplace_publishers")
    op.drop_index(op.f("ix_marketplace_publishers_slug"), table_name="marketplace_publishers")
    op.drop_table("marketplace_publishers")
    op.drop_index(op.f("ix_marketplace_orders_user_id"), table_name="marketplace_orders")
    op.drop_index(op.f("ix_marketplace_orders_status"), table_name="marketplace_orders")
    op.drop_index(op.f("ix_marketplace_orders_payment_intent_id"), table_name="marketplace_orders")
    op.drop_index(op.f("ix_marketplace_orders_order_number"), table_name="marketplace_orders")
    op.drop_table("marketplace_orders")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_table("marketplace_webhook_events")
    op.drop_index(op.f("ix_marketplace_categories_slug"), table_name="marketplace_categories")
    op.drop_index(op.f("ix_marketplace_categories_parent_id"), table_name="marketplace_categories")
    op.drop_table("marketplace_categories")
