"""community payouts and notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:50:29.824916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "marketplace_review_votes",
        "vote",
        existing_type=sa.String(length=10),
        type_=sa.String(length=20),
        comment="helpful | not_helpful",
        existing_nullable=False,
    )
    op.alter_column(
        "marketplace_orders",
        "billing_email",
        existing_type=sa.String(length=200),
        type_=sa.String(length=320),
        existing_nullable=True,
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=20),
            server_default="pending",
            nullable=False,
            comment="pending | sent | failed",
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_outbox_dedupe_key")),
    )
    op.create_index(
        "ix_notification_outbox_due",
        "notification_outbox",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.add_column(
        "marketplace_downloads", sa.Column("referrer", sa.String(length=500), nullable=True)
    )
    op.add_column(
        "marketplace_earnings",
        sa.Column("payout_id", sa.Integer(), nullable=True, comment="the payout that paid it out"),
    )
    op.create_index(
        op.f("ix_marketplace_earnings_payout_id"),
        "marketplace_earnings",
        ["payout_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_marketplace_earnings_payout_id_marketplace_payouts"),
        "marketplace_earnings",
        "marketplace_payouts",
        ["payout_id"],
        ["id"],
    )
    op.add_column(
        "marketplace_payouts",
        sa.Column(
            "carried_in",
            sa.Numeric(precision=12, scale=2),
            server_default="0",
            nullable=False,
            comment="net carried over from earlier months",
        ),
    )
    op.add_column(
        "marketplace_payouts",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("marketplace_payouts", sa.Column("failure_reason", sa.Text(), nullable=True))
    op.add_column(
        "marketplace_payouts", sa.Column("workflow_id", sa.String(length=100), nullable=True)
    )
    op.add_column(
        "marketplace_publishers",
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "marketplace_publishers", sa.Column("suspension_reason", sa.Text(), nullable=True)
    )
    op.add_column(
        "marketplace_review_reports",
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "marketplace_reviews",
        sa.Column("moderation_note", sa.Text(), nullable=True, comment="why it was hidden"),
    )
    op.add_column("marketplace_reviews", sa.Column("moderated_by", sa.Integer(), nullable=True))
    op.add_column(
        "marketplace_reviews", sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_marketplace_reviews_moderated_by_users"),
        "marketplace_reviews",
        "users",
        ["moderated_by"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "marketplace_views", sa.Column("user_agent", sa.String(length=500), nullable=True)
    )
    op.create_index(
        "ix_marketplace_views_session",
        "marketplace_views",
        ["module_id", "session_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.alter_column(
        "marketplace_review_votes",
        "vote",
        existing_type=sa.String(length=20),
        type_=sa.String(length=10),
        comment=None,
        existing_comment="helpful | not_helpful",
        existing_nullable=False,
    )
    op.alter_column(
        "marketplace_orders",
        "billing_email",
        existing_type=sa.String(length=320),
        type_=sa.String(length=200),
        existing_nullable=True,
    )
    op.drop_index("ix_marketplace_views_session", table_name="marketplace_views")
    op.drop_column("marketplace_views", "user_agent")
    op.drop_constraint(
        op.f("fk_marketplace_reviews_moderated_by_users"), "marketplace_reviews", type_="foreignkey"
    )
    op.drop_column("marketplace_reviews", "moderated_at")
    op.drop_column("marketplace_reviews", "moderated_by")
    op.drop_column("marketplace_reviews", "moderation_note")
    op.drop_column("marketplace_review_reports", "resolved_at")
    op.drop_column("marketplace_publishers", "suspension_reason")
    op.drop_column("marketplace_publishers", "suspended_at")
    op.drop_column("marketplace_payouts", "workflow_id")
    op.drop_column("marketplace_payouts", "failure_reason")
    op.drop_column("marketplace_payouts", "attempts")
    op.drop_column("marketplace_payouts", "carried_in")
    op.drop_constraint(
        op.f("fk_marketplace_earnings_payout_id_marketplace_payouts"),
        "marketplace_earnings",
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_marketplace_earnings_payout_id"), table_name="marketplace_earnings")
    op.drop_column("marketplace_earnings", "payout_id")
    op.drop_column("marketplace_downloads", "referrer")
    op.drop_index("ix_notification_outbox_due", table_name="notification_outbox")
    op.drop_table("notification_outbox")
