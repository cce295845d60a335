"""decision claims and listing revisions

A decision update's reference (an audit row) is claimed once; a published module's
listing changes wait for review as a revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_claims",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=300), nullable=False),
        sa.Column(
            "claimed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_log.id"],
            name=op.f("fk_decision_claims_audit_id_audit_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_decision_claims")),
    )
    op.create_table(
        "marketplace_listing_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
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
            name=op.f("fk_marketplace_listing_revisions_module_id_marketplace_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["users.id"],
            name=op.f("fk_marketplace_listing_revisions_submitted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_marketplace_listing_revisions_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_listing_revisions")),
        sa.UniqueConstraint("key", name=op.f("uq_marketplace_listing_revisions_key")),
    )
    op.create_index(
        op.f("ix_marketplace_listing_revisions_module_id"),
        "marketplace_listing_revisions",
        ["module_id"],
        unique=False,
    )
    op.create_index(
        "uq_listing_revision_pending",
        "marketplace_listing_revisions",
        ["module_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_listing_revision_pending",
        table_name="marketplace_listing_revisions",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        op.f("ix_marketplace_listing_revisions_module_id"),
        table_name="marketplace_listing_revisions",
    )
    op.drop_table("marketplace_listing_revisions")
    op.drop_table("decision_claims")
