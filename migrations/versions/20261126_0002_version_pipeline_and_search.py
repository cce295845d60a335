"""version pipeline and search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:05:44.298600
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "marketplace_module_versions",
        sa.Column("signature_key_id", sa.String(length=32), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("upload_sha256", sa.String(length=64), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("pipeline_step", sa.String(length=30), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column(
            "rejection_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column(
            "scan_findings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("audit_status", sa.String(length=20), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("audit_report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
    )
    op.add_column(
        "marketplace_module_versions", sa.Column("uploaded_by", sa.Integer(), nullable=True)
    )
    op.alter_column(
        "marketplace_module_versions",
        "zip_file_url",
        existing_type=sa.VARCHAR(length=500),
        comment="object storage key",
        existing_nullable=False,
    )
    op.alter_column(
        "marketplace_module_versions",
        "status",
        server_default="processing",
        existing_type=sa.String(length=20),
        existing_nullable=False,
    )
    op.create_index(
        "uq_module_latest_version",
        "marketplace_module_versions",
        ["module_id"],
        unique=True,
        postgresql_where=sa.text("is_latest"),
    )
    op.create_foreign_key(
        op.f("fk_marketplace_module_versions_uploaded_by_users"),
        "marketplace_module_versions",
        "users",
        ["uploaded_by"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "marketplace_modules",
        sa.Column("rating_average", sa.Numeric(precision=3, scale=2), nullable=True),
    )
    op.add_column(
        "marketplace_modules",
        sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "marketplace_modules",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple', coalesce(display_name, '') || ' ' || coalesce(replace(technical_name, '_', ' '), '')), 'A') || setweight(to_tsvector('english', coalesce(short_description, '')), 'B') || setweight(to_tsvector('english', coalesce(description, '')), 'C') || setweight(jsonb_to_tsvector('simple', coalesce(tags, '[]'::jsonb) || coalesce(keywords, '[]'::jsonb), '[\"string\"]'), 'D')",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_marketplace_modules_search_vector",
        "marketplace_modules",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_marketplace_modules_search_vector",
        table_name="marketplace_modules",
        postgresql_using="gin",
    )
    op.drop_column("marketplace_modules", "search_vector")
    op.drop_column("marketplace_modules", "rating_count")
    op.drop_column("marketplace_modules", "rating_average")
    op.drop_constraint(
        op.f("fk_marketplace_module_versions_uploaded_by_users"),
        "marketplace_module_versions",
        type_="foreignkey",
    )
    op.drop_index(
        "uq_module_latest_version",
        table_name="marketplace_module_versions",
        postgresql_where=sa.text("is_latest"),
    )
    op.alter_column(
        "marketplace_module_versions",
        "zip_file_url",
        existing_type=sa.VARCHAR(length=500),
        comment=None,
        existing_comment="object storage key",
        existing_nullable=False,
    )
    op.alter_column(
        "marketplace_module_versions",
        "status",
        server_default="draft",
        existing_type=sa.String(length=20),
        existing_nullable=False,
    )
    op.drop_column("marketplace_module_versions", "uploaded_by")
    op.drop_column("marketplace_module_versions", "workflow_id")
    op.drop_column("marketplace_module_versions", "audit_report")
    op.drop_column("marketplace_module_versions", "audit_status")
    op.drop_column("marketplace_module_versions", "scan_findings")
    op.drop_column("marketplace_module_versions", "rejection_reasons")
    op.drop_column("marketplace_module_versions", "pipeline_step")
    op.drop_column("marketplace_module_versions", "manifest")
    op.drop_column("marketplace_module_versions", "upload_sha256")
    op.drop_column("marketplace_module_versions", "signature_key_id")
