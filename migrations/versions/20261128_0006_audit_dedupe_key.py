"""audit log dedupe key: a retried activity records its change once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("dedupe_key", sa.String(length=200), nullable=True))
    op.create_unique_constraint(op.f("uq_audit_log_dedupe_key"), "audit_log", ["dedupe_key"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_audit_log_dedupe_key"), "audit_log", type_="unique")
    op.drop_column("audit_log", "dedupe_key")
