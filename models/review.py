"""Reviews, votes and abuse reports (spec §2.4)."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AuditMixin, Base, TimestampMixin


class ModuleReview(Base, TimestampMixin, AuditMixin):
    __tablename__ = "marketplace_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_modules.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_module_versions.id"))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    helpful_count: Mapped[int] = mapped_column(default=0, server_default="0")
    not_helpful_count: Mapped[int] = mapped_column(default=0, server_default="0")
    publisher_response: Mapped[str | None] = mapped_column(Text)
    publisher_responded_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="published", server_default="published")
    verified_purchase: Mapped[bool] = mapped_column(default=False, server_default="false")
    moderation_note: Mapped[str | None] = mapped_column(Text, comment="why it was hidden")
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("module_id", "user_id", name="uq_module_review_user"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )


class ReviewVote(Base, TimestampMixin):
    __tablename__ = "marketplace_review_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("marketplace_reviews.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    vote: Mapped[str] = mapped_column(String(20), comment="helpful | not_helpful")

    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_review_vote_user"),)


class ReviewReport(Base, TimestampMixin):
    __tablename__ = "marketplace_review_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_reviews.id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(50))
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), default="pending", server_default="pending", index=True
    )
    resolved_by: Mapped[int | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("review_id", "reporter_id"),)
