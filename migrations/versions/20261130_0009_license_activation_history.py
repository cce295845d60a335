"""license activations keep their history: one active row per instance, and how long
what each was given stays valid (the churn limit)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "marketplace_license_activations",
        sa.Column(
            "answers_valid_until",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="the latest valid_until of an answer or offline file given to this "
            "activation: the churn limit counts it until then",
        ),
    )
    op.drop_constraint(
        op.f("uq_marketplace_license_activations_license_id_instance_id"),
        "marketplace_license_activations",
        type_="unique",
    )
    op.create_index(
        "uq_marketplace_license_activations_active_instance",
        "marketplace_license_activations",
        ["license_id", "instance_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    # Only the latest row of each instance can stay under the old one-row-per-instance rule.
    op.execute(
        """
        DELETE FROM marketplace_license_activations a
        USING marketplace_license_activations b
        WHERE a.license_id = b.license_id AND a.instance_id = b.instance_id
          AND (a.status <> 'active') AND (b.status = 'active' OR b.id > a.id)
        """
    )
    op.drop_index(
        "uq_marketplace_license_activations_active_instance",
        table_name="marketplace_license_activations",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_unique_constraint(
        op.f("uq_marketplace_license_activations_license_id_instance_id"),
        "marketplace_license_activations",
        ["license_id", "instance_id"],
    )
    op.drop_column("marketplace_license_activations", "answers_valid_until")
