"""Queries on module versions, for the upload edge and the ingestion activities."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.versions import DOWNLOADABLE, VersionStatus
from models.module import MarketplaceModule, ModuleVersion
from models.repositories.errors import unique_violations

VERSION_UNIQUES = {
    "uq_module_version": ("version_already_used", "this module already has that version")
}


async def create_version(session: AsyncSession, version: ModuleVersion) -> ModuleVersion:
    async with unique_violations(session, VERSION_UNIQUES):
        session.add(version)
    return version


async def get_version(session: AsyncSession, version_id: int) -> ModuleVersion | None:
    return await session.get(ModuleVersion, version_id)


async def find_version(session: AsyncSession, module_id: int, number: str) -> ModuleVersion | None:
    result = await session.execute(
        select(ModuleVersion).where(
            ModuleVersion.module_id == module_id, ModuleVersion.version == number
        )
    )
    return result.scalar_one_or_none()


async def list_versions(session: AsyncSession, module_id: int) -> list[ModuleVersion]:
    result = await session.execute(
        select(ModuleVersion)
        .where(ModuleVersion.module_id == module_id)
        .order_by(ModuleVersion.created_at.desc(), ModuleVersion.id.desc())
    )
    return list(result.scalars())


async def version_numbers(session: AsyncSession, module_id: int, *, except_id: int) -> set[str]:
    """Every number this module ever used, rejected and deprecated ones included."""
    result = await session.execute(
        select(ModuleVersion.version).where(
            ModuleVersion.module_id == module_id, ModuleVersion.id != except_id
        )
    )
    return set(result.scalars())


async def has_version_in(
    session: AsyncSession, module_id: int, statuses: Iterable[VersionStatus]
) -> bool:
    found = await session.scalar(
        select(ModuleVersion.id)
        .where(ModuleVersion.module_id == module_id, ModuleVersion.status.in_(list(statuses)))
        .limit(1)
    )
    return found is not None


async def published_module_names(session: AsyncSession) -> set[str]:
    result = await session.execute(
        select(MarketplaceModule.technical_name).where(MarketplaceModule.status == "published")
    )
    return set(result.scalars())


async def set_fields(session: AsyncSession, version_id: int, **values: Any) -> None:
    await session.execute(
        update(ModuleVersion).where(ModuleVersion.id == version_id).values(**values)
    )


async def previous_published(
    session: AsyncSession, module_id: int, *, except_id: int
) -> ModuleVersion | None:
    """The version published most recently before this one, if any."""
    result = await session.execute(
        select(ModuleVersion)
        .where(
            ModuleVersion.module_id == module_id,
            ModuleVersion.id != except_id,
            ModuleVersion.status.in_([s.value for s in DOWNLOADABLE]),
        )
        .order_by(ModuleVersion.published_at.desc().nulls_last(), ModuleVersion.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def recompute_latest(session: AsyncSession, module_id: int) -> int | None:
    """Point ``is_latest`` at the highest published non-prerelease version; its id."""
    result = await session.execute(
        select(ModuleVersion.id)
        .where(
            ModuleVersion.module_id == module_id,
            ModuleVersion.status == VersionStatus.PUBLISHED,
            ModuleVersion.is_prerelease.is_(False),
        )
        .order_by(
            ModuleVersion.semver_major.desc(),
            ModuleVersion.semver_minor.desc(),
            ModuleVersion.semver_patch.desc(),
        )
        .limit(1)
    )
    latest = result.scalar_one_or_none()
    await session.execute(
        update(ModuleVersion)
        .where(ModuleVersion.module_id == module_id, ModuleVersion.is_latest.is_(True))
        .values(is_latest=False)
    )
    if latest is not None:
        await session.execute(
            update(ModuleVersion).where(ModuleVersion.id == latest).values(is_latest=True)
        )
    return latest


async def mark_published(
    session: AsyncSession,
    version_id: int,
    *,
    semver: tuple[int, int, int],
    prerelease: bool,
    published_at: datetime,
    published_by: int,
) -> bool:
    """Publish once: False when the version had already left processing/review. A
    published version keeps no hold reason."""
    result = await session.execute(
        update(ModuleVersion)
        .where(
            ModuleVersion.id == version_id,
            ModuleVersion.status.in_([VersionStatus.PROCESSING, VersionStatus.MANUAL_REVIEW]),
        )
        .values(
            status=VersionStatus.PUBLISHED,
            semver_major=semver[0],
            semver_minor=semver[1],
            semver_patch=semver[2],
            is_prerelease=prerelease,
            published_at=published_at,
            published_by=published_by,
            pipeline_step="done",
            rejection_reasons=[],
        )
        .returning(ModuleVersion.id)
    )
    return result.scalar_one_or_none() is not None


async def lock_module(session: AsyncSession, module_id: int) -> MarketplaceModule | None:
    result = await session.execute(
        select(MarketplaceModule).where(MarketplaceModule.id == module_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def in_manual_review(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[ModuleVersion], int]:
    where = ModuleVersion.status == VersionStatus.MANUAL_REVIEW
    total = (
        await session.execute(select(func.count()).select_from(ModuleVersion).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(ModuleVersion)
        .where(where)
        .order_by(ModuleVersion.created_at.asc(), ModuleVersion.id.asc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total
