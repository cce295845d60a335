"""Platform-wide tables: the audit log, admin-editable settings and the mail outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class AuditLogEntry(Base, TimestampMixin):
    """Who changed what: one row per state change made by a person or a workflow."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """A business key for a change a retried step could record twice (workflow
    activities): one row per key. Changes people make through the API have none."""

    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id", "created_at"),
        Index("ix_audit_log_actor", "actor_id", "created_at"),
    )


class DecisionClaim(Base):
    """A decision request (an audit row) used by the workflow update it was sent with: the
    workflow's verifying activity claims it, so the same reference cannot decide twice."""

    __tablename__ = "decision_claims"

    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_by: Mapped[str] = mapped_column(String(300))
    """``workflow id/run id/update id`` of the update that used it."""
    claimed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PlatformSetting(Base, TimestampMixin):
    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class NotificationOutbox(Base, TimestampMixin):
    """Mail to send, written in the same transaction as what it tells about, so a failed
    send is retried and never lost. One row per ``dedupe_key``."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending", comment="pending | sent | failed"
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)
