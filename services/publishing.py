"""Publishing: a publisher's own listings (create, edit, archive, submit for review) and
their versions (upload, which starts the ingestion pipeline; notes; deprecation).

What belongs to another publisher is simply not found (``services.ownership``). A listing's
edits reach the search engine after the commit; an archived listing leaves it.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import listing, processes
from domain import modules as rules
from domain.errors import Conflict, DomainError, NotFound
from domain.ingest import IngestProgress, IngestRequest
from domain.modules import LicenseType, ModuleStatus, SubscriptionPeriod
from domain.review import ReviewProgress
from domain.slugs import slugify
from domain.versions import VersionStatus
from integrations.search import SearchBackend, reindex_module
from integrations.storage import ObjectStorage
from integrations.temporal.front_door import TemporalFrontDoor
from models.module import ListingRevision, MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories import audit, categories, modules, users, versions
from services import ingestion, listing_revisions, module_review
from services.ownership import own_module
from settings import Settings

PRICING_FIELDS = ("license_type", "price", "currency", "subscription_period", "trial_days")
NOT_NULLABLE_ON_UPDATE = frozenset(
    {"slug", "display_name", "short_description", "license_type", "currency", "visibility"}
)
IN_PIPELINE = (VersionStatus.PROCESSING, VersionStatus.MANUAL_REVIEW)


# --- listings -----------------------------------------------------------------------------


async def _check_category(session: AsyncSession, category_id: int | None) -> None:
    if category_id is None:
        return
    category = await categories.get_category(session, category_id)
    if category is None or not category.is_active:
        raise DomainError("unknown_category", f"there is no active category {category_id}")


def _checked_price(values: dict[str, Any]) -> Decimal | None:
    period = values.get("subscription_period")
    return rules.check_pricing(
        LicenseType(values["license_type"]),
        values.get("price"),
        values["currency"],
        SubscriptionPeriod(period) if period else None,
        values.get("trial_days"),
    )


async def list_my_modules(
    session: AsyncSession,
    publisher: Publisher,
    *,
    status: ModuleStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[MarketplaceModule], int]:
    return await modules.list_publisher_modules(
        session, publisher.id, status=status, limit=limit, offset=offset
    )


async def create_module(
    session: AsyncSession, publisher: Publisher, values: dict[str, Any]
) -> MarketplaceModule:
    """A draft listing. ``values``: every listing field, ``technical_name`` and ``slug``
    (None: made from the display name, else the technical name)."""
    values = dict(values)
    await _check_category(session, values.get("category_id"))
    values["price"] = _checked_price(values)
    values["slug"] = (
        values.get("slug") or slugify(values["display_name"]) or slugify(values["technical_name"])
    )
    module = await modules.save_module(
        session,
        MarketplaceModule(
            publisher_id=publisher.id,
            status=ModuleStatus.DRAFT,
            created_by=publisher.user_id,
            updated_by=publisher.user_id,
            **values,
        ),
    )
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="module.create",
        entity_type="module",
        entity_id=module.id,
        changes={"slug": module.slug, "technical_name": module.technical_name},
    )
    await session.commit()
    await session.refresh(module)
    return module


@dataclass(frozen=True)
class ListingUpdate:
    module: MarketplaceModule
    """As buyers see it after the edit."""
    revision: ListingRevision | None
    """The revision pending review after the edit, when the module is published and the
    edit changes its listing text or media (``domain.listing``); None otherwise."""


async def update_module(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    changes: dict[str, Any],
    *,
    search: SearchBackend,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> ListingUpdate:
    """Change the fields in ``changes`` (only those sent); pricing is checked as a whole,
    the fields sent merged over the stored ones. On a published module the listing text
    and media go into a revision that waits for review instead (the live listing keeps
    the old ones); prices and visibility change at once."""
    module = await own_module(session, publisher, module_id, lock=True)
    rules.check_editable(ModuleStatus(module.status))
    changes = dict(changes)
    for field in NOT_NULLABLE_ON_UPDATE & changes.keys():
        if changes[field] is None:
            raise DomainError("field_required", f"{field} cannot be empty")
    if "slug" in changes and changes["slug"] != module.slug:
        rules.check_slug_change(
            ModuleStatus(module.status),
            has_versions=await versions.has_version_in(session, module.id, list(VersionStatus)),
        )
    if "category_id" in changes:
        await _check_category(session, changes["category_id"])
    if set(PRICING_FIELDS) & changes.keys():
        merged = {field: getattr(module, field) for field in PRICING_FIELDS} | {
            field: changes[field] for field in PRICING_FIELDS if field in changes
        }
        changes["price"] = _checked_price(merged)
    proposal = None
    if listing.needs_review(ModuleStatus(module.status)) and (
        changes.keys() & set(listing.REVIEWED_FIELDS)
    ):
        proposal = await listing_revisions.propose(
            session, module, changes, user_id=publisher.user_id
        )
        changes = {f: v for f, v in changes.items() if f not in listing.REVIEWED_FIELDS}
    if changes:
        for field, value in changes.items():
            setattr(module, field, value)
        module.updated_by = publisher.user_id
        await modules.save_module(session, module)
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="module.update",
            entity_type="module",
            entity_id=module.id,
            changes=changes,
        )
    request = None
    if proposal is not None and proposal.revision is not None:
        request = await listing_revisions.review_request(
            session, module, proposal.revision, settings
        )
    await session.commit()
    if changes:
        await reindex_module(search, session, module.id)
    if proposal is not None:
        await listing_revisions.start_reviews(workflows, module, proposal, request)
    await session.refresh(module)
    return ListingUpdate(module, proposal.revision if proposal else None)


async def archive_module(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    *,
    search: SearchBackend,
    workflows: TemporalFrontDoor,
) -> MarketplaceModule:
    """Archive: the listing leaves the marketplace; buyers keep what they bought. A review
    still waiting is told it was withdrawn."""
    module = await own_module(session, publisher, module_id, lock=True)
    if module.status == ModuleStatus.ARCHIVED:
        return module
    was_pending = module.status == ModuleStatus.PENDING
    revision = await listing_revisions.withdraw_pending(session, module, user_id=publisher.user_id)
    module.status = ModuleStatus.ARCHIVED
    module.archived_at = datetime.now(UTC)
    module.updated_by = publisher.user_id
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="module.archive",
        entity_type="module",
        entity_id=module.id,
    )
    await session.commit()
    await reindex_module(search, session, module.id)
    if was_pending:
        await module_review.withdraw(workflows, module.slug)
    await listing_revisions.tell_withdrawn(workflows, module, revision)
    await session.refresh(module)
    return module


async def submit_for_review(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    *,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> tuple[MarketplaceModule, str]:
    """Send the listing to the review queue and start its review; the module and the
    review's workflow id. Repeating a submit is harmless."""
    module = await own_module(session, publisher, module_id, lock=True)
    after_decision = module.status == ModuleStatus.REJECTED
    if not rules.submission_is_retry(ModuleStatus(module.status)):
        module.status = ModuleStatus.PENDING
        module.submitted_at = datetime.now(UTC)
        module.rejection_reason = None
        module.updated_by = publisher.user_id
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="module.submit",
            entity_type="module",
            entity_id=module.id,
        )
    owner = await users.get_user(session, publisher.user_id)
    assert owner is not None
    request = await module_review.current_review_request(session, module, owner.email, settings)
    await session.commit()
    workflow_id = await module_review.start_review(
        workflows, request, after_decision=after_decision
    )
    await session.refresh(module)
    return module, workflow_id


@dataclass(frozen=True)
class ReviewStatus:
    module: MarketplaceModule
    workflow_id: str
    progress: ReviewProgress | None
    """Live detail from the running review, while the module is pending."""


async def review_status(
    session: AsyncSession, publisher: Publisher, module_id: int, *, workflows: TemporalFrontDoor
) -> ReviewStatus:
    """Where the review stands: the listing, plus live workflow detail while pending."""
    module = await own_module(session, publisher, module_id)
    live = None
    if module.status == ModuleStatus.PENDING:
        live = await module_review.progress(workflows, module.slug)
    return ReviewStatus(
        module=module,
        workflow_id=processes.ModuleReview.workflow_id(module.slug),
        progress=live,
    )


# --- versions -----------------------------------------------------------------------------


def _ingest_request(
    version: ModuleVersion, module: MarketplaceModule, staging_key: str, settings: Settings
) -> IngestRequest:
    # Set when the version row is made from an upload.
    assert version.upload_sha256 is not None and version.uploaded_by is not None
    return IngestRequest(
        version_id=version.id,
        module_id=module.id,
        module_slug=module.slug,
        technical_name=module.technical_name,
        version=version.version,
        staging_key=staging_key,
        upload_sha256=version.upload_sha256,
        uploaded_by=version.uploaded_by,
        timeouts=ingestion.timeouts_from(settings),
    )


async def module_for_upload(
    session: AsyncSession, publisher: Publisher, module_id: int
) -> MarketplaceModule:
    """The caller's module, if it still takes uploads (checked before any byte is read)."""
    module = await own_module(session, publisher, module_id)
    if module.status == ModuleStatus.ARCHIVED:
        raise Conflict("module_archived", "the module is archived")
    return module


@dataclass(frozen=True)
class ReceivedPackage:
    """An uploaded package on local disk, as the edge received it."""

    path: Path
    sha256: str
    size: int
    version: str
    """The number its manifest declares."""
    release_notes: str | None = None
    changelog: str | None = None


@dataclass(frozen=True)
class UploadStarted:
    version: ModuleVersion
    workflow_id: str


async def upload_version(
    session: AsyncSession,
    publisher: Publisher,
    module: MarketplaceModule,
    package: ReceivedPackage,
    *,
    storage: ObjectStorage,
    workflows: TemporalFrontDoor,
    settings: Settings,
) -> UploadStarted:
    """Create the version row, stage the archive, commit, then start the ingestion.

    The version number names the row and the workflow, so a number is never used twice;
    the same bytes sent again (a client retry) find the first upload's run instead. The
    caller still owns ``package.path`` (it may discard it once this returns)."""
    existing = await versions.find_version(session, module.id, package.version)
    if existing is not None:
        return await _repeat_upload(existing, module, package, workflows, settings)
    staging_key = f"staging/{module.id}/{uuid.uuid4().hex}.zip"
    version = await versions.create_version(
        session,
        ModuleVersion(
            module_id=module.id,
            version=package.version,
            zip_file_url=staging_key,
            upload_sha256=package.sha256,
            uploaded_by=publisher.user_id,
            status=VersionStatus.PROCESSING,
            pipeline_step="received",
            release_notes=package.release_notes or None,
            changelog=package.changelog or None,
            workflow_id=processes.VersionIngestion.workflow_id(module.slug, package.version),
        ),
    )
    await asyncio.to_thread(storage.put_file, staging_key, package.path)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="version.upload",
        entity_type="version",
        entity_id=version.id,
        changes={"version": package.version, "sha256": package.sha256, "size": package.size},
    )
    await session.commit()
    workflow_id = await ingestion.start_ingestion(
        workflows, _ingest_request(version, module, staging_key, settings)
    )
    await session.refresh(version)
    return UploadStarted(version, workflow_id)


async def _repeat_upload(
    existing: ModuleVersion,
    module: MarketplaceModule,
    package: ReceivedPackage,
    workflows: TemporalFrontDoor,
    settings: Settings,
) -> UploadStarted:
    """The same bytes sent again (a client retry) find the first upload's run."""
    if existing.upload_sha256 != package.sha256:
        raise Conflict(
            "version_already_used",
            f"version {existing.version} exists; versions numbers are never reused",
        )
    if existing.status in IN_PIPELINE:
        await ingestion.start_ingestion(
            workflows, _ingest_request(existing, module, existing.zip_file_url, settings)
        )
    assert existing.workflow_id is not None  # set with the version row, at its upload
    return UploadStarted(existing, existing.workflow_id)


async def list_versions(
    session: AsyncSession, publisher: Publisher, module_id: int
) -> list[ModuleVersion]:
    module = await own_module(session, publisher, module_id)
    return await versions.list_versions(session, module.id)


async def _own_version(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    number: str,
    *,
    lock: bool = False,
) -> tuple[MarketplaceModule, ModuleVersion]:
    module = await own_module(session, publisher, module_id, lock=lock)
    version = await versions.find_version(session, module.id, number)
    if version is None:
        raise NotFound("version_not_found", f"no version {number} of this module")
    return module, version


async def version_details(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    number: str,
    *,
    workflows: TemporalFrontDoor,
) -> tuple[ModuleVersion, IngestProgress | None]:
    """The version, plus the pipeline's live state while it runs."""
    _, version = await _own_version(session, publisher, module_id, number)
    progress = None
    if version.status in IN_PIPELINE and version.workflow_id:
        progress = await ingestion.progress(workflows, version.workflow_id)
    return version, progress


async def update_version_notes(
    session: AsyncSession,
    publisher: Publisher,
    module_id: int,
    number: str,
    changes: dict[str, Any],
) -> ModuleVersion:
    """``changes``: the release notes and/or changelog sent."""
    _, version = await _own_version(session, publisher, module_id, number)
    for field, value in changes.items():
        setattr(version, field, value)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="version.update",
        entity_type="version",
        entity_id=version.id,
        changes=changes,
    )
    await session.commit()
    await session.refresh(version)
    return version


async def deprecate_version(
    session: AsyncSession, publisher: Publisher, module_id: int, number: str
) -> ModuleVersion:
    """Deprecate: still downloadable by exact version, no longer offered as latest."""
    module, version = await _own_version(session, publisher, module_id, number, lock=True)
    if version.status == VersionStatus.DEPRECATED:
        return version
    if version.status != VersionStatus.PUBLISHED:
        raise Conflict(
            "version_not_published",
            f"only a published version can be deprecated ({version.status})",
        )
    version.status = VersionStatus.DEPRECATED
    await session.flush()
    await versions.recompute_latest(session, module.id)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="version.deprecate",
        entity_type="version",
        entity_id=version.id,
    )
    await session.commit()
    await session.refresh(version)
    return version
