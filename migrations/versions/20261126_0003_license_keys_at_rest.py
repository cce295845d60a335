"""license keys at rest

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 23:04:21.877480
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "marketplace_licenses",
        sa.Column("key_ciphertext", sa.Text(), nullable=True, comment="AES-GCM, for the owner"),
    )
    op.add_column("marketplace_licenses", sa.Column("key_last", sa.String(length=5), nullable=True))
    op.alter_column(
        "marketplace_licenses",
        "license_key",
        existing_type=sa.VARCHAR(length=64),
        comment="SHA-256 of the normalized key",
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "marketplace_licenses",
        "license_key",
        existing_type=sa.VARCHAR(length=64),
        comment=None,
        existing_comment="SHA-256 of the normalized key",
        existing_nullable=False,
    )
    op.drop_column("marketplace_licenses", "key_last")
    op.drop_column("marketplace_licenses", "key_ciphertext")
