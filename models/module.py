"""Module listings, categories and versions (spec §2.2)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Computed,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AuditMixin, Base, TimestampMixin
from models.publisher import Publisher
from models.search_vector import SEARCH_VECTOR_SQL


class MarketplaceCategory(Base, TimestampMixin):
    __tablename__ = "marketplace_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    icon: Mapped[str | None] = mapped_column(String(50))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketplace_categories.id", ondelete="RESTRICT"), index=True
    )
    order: Mapped[int] = mapped_column(default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    module_count: Mapped[int] = mapped_column(default=0, server_default="0")

    parent: Mapped["MarketplaceCategory | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["MarketplaceCategory"]] = relationship(back_populates="parent")


class MarketplaceModule(Base, TimestampMixin, AuditMixin):
    __tablename__ = "marketplace_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("marketplace_publishers.id"), index=True)
    technical_name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    short_description: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketplace_categories.id"), index=True
    )

    license_type: Mapped[str] = mapped_column(String(20), default="free", server_default="free")
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    subscription_period: Mapped[str | None] = mapped_column(String(20))
    trial_days: Mapped[int | None] = mapped_column(Integer)

    icon_url: Mapped[str | None] = mapped_column(String(500))
    banner_url: Mapped[str | None] = mapped_column(String(500))
    screenshots: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    video_url: Mapped[str | None] = mapped_column(String(500))

    tags: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    keywords: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    fastvue_versions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    python_versions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    dependencies: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    external_dependencies: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    status: Mapped[str] = mapped_column(
        String(20), default="draft", server_default="draft", index=True
    )
    featured: Mapped[bool] = mapped_column(default=False, server_default="false")
    featured_order: Mapped[int | None]
    visibility: Mapped[str] = mapped_column(String(20), default="public", server_default="public")

    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]

    download_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    install_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    view_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rating_average: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")

    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR,
        Computed(SEARCH_VECTOR_SQL, persisted=True),
        deferred=True,
    )

    publisher: Mapped[Publisher] = relationship(back_populates="modules")
    category: Mapped[MarketplaceCategory | None] = relationship()
    versions: Mapped[list["ModuleVersion"]] = relationship(
        back_populates="module", order_by="desc(ModuleVersion.created_at)"
    )

    __table_args__ = (
        Index("ix_marketplace_modules_pending_queue", "status", "submitted_at"),
        Index("ix_marketplace_modules_search_vector", "search_vector", postgresql_using="gin"),
    )


class ModuleVersion(Base, TimestampMixin):
    __tablename__ = "marketplace_module_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_modules.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(50))
    semver_major: Mapped[int | None]
    semver_minor: Mapped[int | None]
    semver_patch: Mapped[int | None]

    zip_file_url: Mapped[str] = mapped_column(String(500), comment="object storage key")
    zip_file_size: Mapped[int | None] = mapped_column(BigInteger)
    zip_file_hash: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text)
    signature_key_id: Mapped[str | None] = mapped_column(String(32))
    signature_format: Mapped[str] = mapped_column(
        String(40),
        default="archive-sha256/v1",
        server_default="archive-sha256/v1",
        comment="what the signature covers: domain.module_signature.SignatureFormat",
    )
    signed_statement: Mapped[str | None] = mapped_column(
        Text, comment="the exact text a statement signature covers (format v2)"
    )
    upload_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    changelog: Mapped[str | None] = mapped_column(Text)
    release_notes: Mapped[str | None] = mapped_column(Text)

    min_fastvue_version: Mapped[str | None] = mapped_column(String(20))
    max_fastvue_version: Mapped[str | None] = mapped_column(String(20))

    status: Mapped[str] = mapped_column(
        String(20), default="processing", server_default="processing"
    )
    pipeline_step: Mapped[str | None] = mapped_column(String(30))
    rejection_reasons: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    scan_findings: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    file_types: Mapped[list[Any] | None] = mapped_column(
        comment="file suffixes in the archive, compared with the next version's"
    )
    audit_status: Mapped[str | None] = mapped_column(String(20))
    audit_report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_latest: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_prerelease: Mapped[bool] = mapped_column(default=False, server_default="false")
    download_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    published_at: Mapped[datetime | None]
    published_by: Mapped[int | None]

    module: Mapped[MarketplaceModule] = relationship(back_populates="versions")

    __table_args__ = (
        UniqueConstraint("module_id", "version", name="uq_module_version"),
        Index(
            "uq_module_latest_version",
            "module_id",
            unique=True,
            postgresql_where=text("is_latest"),
        ),
    )


class ListingRevision(Base, TimestampMixin):
    """Proposed changes to a published module's listing text and media, live only once an
    admin approves them (``domain.listing``). At most one is pending per module."""

    __tablename__ = "marketplace_listing_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    """Random; names the revision's review workflow."""
    module_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_modules.id", ondelete="CASCADE"), index=True
    )
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The reviewed fields it changes, with their new values."""
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    module: Mapped[MarketplaceModule] = relationship()

    __table_args__ = (
        Index(
            "uq_listing_revision_pending",
            "module_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )
