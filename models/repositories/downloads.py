"""Queries behind downloads: finding what may be downloaded, and counting downloads."""

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.versions import DOWNLOADABLE
from models.analytics import ModuleDownload
from models.commerce import License
from models.module import MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories.analytics import advisory_lock, utc_day_start


async def module_by_slug(
    session: AsyncSession, slug: str
) -> tuple[MarketplaceModule, Publisher] | None:
    row = (
        await session.execute(
            select(MarketplaceModule, Publisher)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .where(MarketplaceModule.slug == slug)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def downloadable_version(
    session: AsyncSession, module_id: int, number: str | None
) -> ModuleVersion | None:
    """The exact published or deprecated version, or the latest release when no number."""
    query = select(ModuleVersion).where(ModuleVersion.module_id == module_id)
    if number is None:
        query = query.where(ModuleVersion.is_latest.is_(True))
    else:
        query = query.where(
            ModuleVersion.version == number, ModuleVersion.status.in_(list(DOWNLOADABLE))
        )
    return (await session.execute(query)).scalar_one_or_none()


async def downloadable_by_id(
    session: AsyncSession, version_id: int
) -> tuple[MarketplaceModule, ModuleVersion] | None:
    """The version with its module, when it is published or deprecated and signed."""
    row = (
        await session.execute(
            select(MarketplaceModule, ModuleVersion)
            .join(ModuleVersion, ModuleVersion.module_id == MarketplaceModule.id)
            .where(
                ModuleVersion.id == version_id,
                ModuleVersion.status.in_(list(DOWNLOADABLE)),
                ModuleVersion.zip_file_hash.is_not(None),
                ModuleVersion.signature.is_not(None),
            )
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def record_download(session: AsyncSession, download: ModuleDownload) -> bool:
    """Count a download unless the same downloader (``user_id``, else ``ip_address``) has
    this version counted today (UTC); True when counted. The event row and both counters
    change together in the caller's transaction (so they always agree). A counter is not
    an edit: ``updated_at`` stays as it was."""
    if download.user_id is not None:
        who = ModuleDownload.user_id == download.user_id
        key = f"user:{download.user_id}"
    else:
        who = ModuleDownload.user_id.is_(None) & ModuleDownload.ip_address.is_not_distinct_from(
            download.ip_address
        )
        key = f"address:{download.ip_address}"
    await advisory_lock(session, f"download:{download.version_id}:{key}")
    already = await session.scalar(
        select(
            exists().where(
                ModuleDownload.module_id == download.module_id,
                ModuleDownload.version_id == download.version_id,
                who,
                ModuleDownload.created_at >= utc_day_start(),
            )
        )
    )
    if already:
        return False
    session.add(download)
    await session.flush()
    await session.execute(
        update(MarketplaceModule)
        .where(MarketplaceModule.id == download.module_id)
        .values(
            download_count=MarketplaceModule.download_count + 1,
            updated_at=MarketplaceModule.updated_at,
        )
    )
    await session.execute(
        update(ModuleVersion)
        .where(ModuleVersion.id == download.version_id)
        .values(
            download_count=ModuleVersion.download_count + 1,
            updated_at=ModuleVersion.updated_at,
        )
    )
    return True


async def licenses_for(session: AsyncSession, user_id: int, module_id: int) -> list[License]:
    rows = await session.execute(
        select(License).where(License.user_id == user_id, License.module_id == module_id)
    )
    return list(rows.scalars())
