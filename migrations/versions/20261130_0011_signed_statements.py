"""signed statements: a version's signature names its module, version and hash

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:00:00.000000

Versions signed so far keep their hash-only signature: the column's default marks them
``archive-sha256/v1``; the signing step writes ``fastvue-module-signature/v2`` and the
statement from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "marketplace_module_versions",
        sa.Column(
            "signature_format",
            sa.String(length=40),
            server_default="archive-sha256/v1",
            nullable=False,
            comment="what the signature covers: domain.module_signature.SignatureFormat",
        ),
    )
    op.add_column(
        "marketplace_module_versions",
        sa.Column(
            "signed_statement",
            sa.Text(),
            nullable=True,
            comment="the exact text a statement signature covers (format v2)",
        ),
    )


def downgrade() -> None:
    op.drop_column("marketplace_module_versions", "signed_statement")
    op.drop_column("marketplace_module_versions", "signature_format")
