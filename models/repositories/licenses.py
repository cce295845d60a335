"""Queries on licenses and their activations."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
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


async def active_activation_counts(session: AsyncSession, license_ids: list[int]) -> dict[int, int]:
    """Active activations per license, for many licenses in one query (absent: none)."""
    if not license_ids:
        return {}
    rows = await session.execute(
        select(LicenseActivation.license_id, func.count())
        .where(LicenseActivation.license_id.in_(license_ids), LicenseActivation.status == "active")
        .group_by(LicenseActivation.license_id)
    )
    return {license_id: count for license_id, count in rows.all()}


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


async def module_of(session: AsyncSession, license_row: License) -> MarketplaceModule:
    """The licensed module (the foreign key holds it there)."""
    return await session.get_one(MarketplaceModule, license_row.module_id)


@dataclass(frozen=True)
class VerificationRecord:
    license_id: int
    module: str
    facts: LicenseFacts


_VERIFY = text(
    """
    WITH lic AS (
        SELECT l.id, l.status, l.expires_at, l.max_instances, l.instance_domains,
               m.technical_name
        FROM marketplace_licenses l
        JOIN marketplace_modules m ON m.id = l.module_id
        WHERE l.license_key = :key_hash
    ), touched AS (
        UPDATE marketplace_license_activations a SET last_check = :now
        FROM lic
        WHERE a.license_id = lic.id AND a.instance_id = :instance_id AND a.status = 'active'
        RETURNING a.id
    )
    SELECT lic.*,
           (SELECT count(*) FROM touched) AS touched,
           COALESCE((
               SELECT json_agg(json_build_array(a.instance_id, a.domain, a.activated_at)
                               ORDER BY a.activated_at, a.id)
               FROM marketplace_license_activations a
               WHERE a.license_id = lic.id AND a.status = 'active'
           ), '[]'::json) AS activations
    FROM lic
    """
)


async def verify_and_touch(
    session: AsyncSession, key_hash: str, instance_id: str, now: datetime
) -> VerificationRecord | None:
    """What verification needs, in one round trip: the license, its module's name and its
    active seats; the caller's own seat gets ``last_check = now`` in the same statement."""
    row = (
        await session.execute(
            _VERIFY, {"key_hash": key_hash, "instance_id": instance_id, "now": now}
        )
    ).first()
    if row is None:
        return None
    return VerificationRecord(
        license_id=row.id,
        module=row.technical_name,
        facts=LicenseFacts(
            status=LicenseStatus(row.status),
            expires_at=row.expires_at,
            max_instances=row.max_instances,
            instance_domains=list(row.instance_domains or []),
            activations=[
                Activation(instance, domain, datetime.fromisoformat(at))
                for instance, domain, at in row.activations
            ],
        ),
    )
