"""Queries on licenses and their activations."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.licensing import Activation, LicenseFacts, LicenseStatus
from models.commerce import License, LicenseActivation
from models.module import MarketplaceModule


async def by_key_hash(
    session: AsyncSession, key_hash: str, *, lock: bool = False
) -> License | None:
    query = select(License).where(License.license_key == key_hash)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def of_user(session: AsyncSession, user_id: int) -> list[tuple[License, MarketplaceModule]]:
    rows = await session.execute(
        select(License, MarketplaceModule)
        .join(MarketplaceModule, MarketplaceModule.id == License.module_id)
        .where(License.user_id == user_id)
        .order_by(License.created_at.desc(), License.id.desc())
    )
    return [(row[0], row[1]) for row in rows.all()]


async def active_activations(session: AsyncSession, license_id: int) -> list[LicenseActivation]:
    rows = await session.execute(
        select(LicenseActivation)
        .where(LicenseActivation.license_id == license_id, LicenseActivation.status == "active")
        .order_by(LicenseActivation.activated_at, LicenseActivation.id)
    )
    return list(rows.scalars())


async def activation(
    session: AsyncSession, license_id: int, instance_id: str
) -> LicenseActivation | None:
    rows = await session.execute(
        select(LicenseActivation).where(
            LicenseActivation.license_id == license_id,
            LicenseActivation.instance_id == instance_id,
        )
    )
    return rows.scalar_one_or_none()


def facts_of(row: License, activations: list[LicenseActivation]) -> LicenseFacts:
    return LicenseFacts(
        status=LicenseStatus(row.status),
        expires_at=row.expires_at,
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        activations=[Activation(a.instance_id, a.domain, a.activated_at) for a in activations],
    )


async def touch_check(session: AsyncSession, activation_id: int, at: datetime) -> None:
    await session.execute(
        update(LicenseActivation).where(LicenseActivation.id == activation_id).values(last_check=at)
    )


async def module_of(session: AsyncSession, license_row: License) -> MarketplaceModule | None:
    return await session.get(MarketplaceModule, license_row.module_id)
