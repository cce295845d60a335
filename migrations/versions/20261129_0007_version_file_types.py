"""version file types: a new version is compared with the previous published one

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "marketplace_module_versions",
        sa.Column(
            "file_types",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="file suffixes in the archive, compared with the next version's",
        ),
    )


def downgrade() -> None:
    op.drop_column("marketplace_module_versions", "file_types")
