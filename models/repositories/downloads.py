"""Queries behind downloads: finding what may be downloaded, and counting downloads."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.versions import DOWNLOADABLE
from models.analytics import ModuleDownload
from models.commerce import License
from models.module import MarketplaceModule, ModuleVersion
from models.publisher import Publisher


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


async def record_download(session: AsyncSession, download: ModuleDownload) -> None:
    """The event row and both counters, together in the caller's transaction (so they
    always agree). A counter is not an edit: ``updated_at`` stays as it was."""
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


async def licenses_for(session: AsyncSession, user_id: int, module_id: int) -> list[License]:
    rows = await session.execute(
        select(License).where(License.user_id == user_id, License.module_id == module_id)
    )
    return list(rows.scalars())
