"""Queries on licenses and their activations."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.licensing import Activation, LicenseFacts, LicenseStatus, Release
from models.commerce import License, LicenseActivation, Order
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
    """The instance's active activation (its earlier, deactivated ones are history)."""
    rows = await session.execute(
        select(LicenseActivation).where(
            LicenseActivation.license_id == license_id,
            LicenseActivation.instance_id == instance_id,
            LicenseActivation.status == "active",
        )
    )
    return rows.scalar_one_or_none()


async def releases_in_use(
    session: AsyncSession, license_id: int, now: datetime, window: timedelta
) -> list[LicenseActivation]:
    """Deactivated activations the churn limit may still count: given up within
    ``window``, or holding an answer valid after ``now``."""
    rows = await session.execute(
        select(LicenseActivation).where(
            LicenseActivation.license_id == license_id,
            LicenseActivation.status != "active",
            or_(
                LicenseActivation.deactivated_at > now - window,
                LicenseActivation.answers_valid_until > now,
            ),
        )
    )
    return list(rows.scalars())


def facts_of(
    row: License,
    activations: list[LicenseActivation],
    released: list[LicenseActivation] | None = None,
) -> LicenseFacts:
    return LicenseFacts(
        status=LicenseStatus(row.status),
        expires_at=row.expires_at,
        max_instances=row.max_instances,
        instance_domains=list(row.instance_domains or []),
        activations=[Activation(a.instance_id, a.domain, a.activated_at) for a in activations],
        released=[
            Release(
                a.instance_id, a.domain, a.deactivated_at or a.updated_at, a.answers_valid_until
            )
            for a in released or []
        ],
    )


async def paid_order_of(session: AsyncSession, license_row: License) -> Order | None:
    """The order that issued the license, if there is one and it was paid."""
    if license_row.order_id is None:
        return None
    order = await session.get(Order, license_row.order_id)
    return order if order is not None and order.paid_at is not None else None


async def module_of(session: AsyncSession, license_row: License) -> MarketplaceModule:
    """The licensed module (the foreign key holds it there)."""
    return await session.get_one(MarketplaceModule, license_row.module_id)


@dataclass(frozen=True)
class VerificationRecord:
    license_id: int
    module: str
    module_slug: str
    facts: LicenseFacts


_VERIFY = text(
    """
    WITH lic AS (
        SELECT l.id, l.status, l.expires_at, l.max_instances, l.instance_domains,
               m.technical_name, m.slug
        FROM marketplace_licenses l
        JOIN marketplace_modules m ON m.id = l.module_id
        WHERE l.license_key = :key_hash
    ), touched AS (
        UPDATE marketplace_license_activations a
        SET last_check = :now,
            domain = COALESCE(a.domain, :domain),
            answers_valid_until = GREATEST(a.answers_valid_until, :answer_until)
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
    session: AsyncSession,
    key_hash: str,
    instance_id: str,
    domain: str,
    now: datetime,
    answer_until: datetime,
) -> VerificationRecord | None:
    """What verification needs, in one round trip: the license, its module's names and its
    active seats (as they were before this call). The caller's own seat gets
    ``last_check = now``, the domain if it has none yet (an activation made before domains
    were bound takes the first one it reports), and ``answers_valid_until`` raised to
    ``answer_until`` (the longest an answer given now can be valid: the churn limit counts
    the seat until then, even once it is deactivated)."""
    row = (
        await session.execute(
            _VERIFY,
            {
                "key_hash": key_hash,
                "instance_id": instance_id,
                "domain": domain,
                "now": now,
                "answer_until": answer_until,
            },
        )
    ).first()
    if row is None:
        return None
    return VerificationRecord(
        license_id=row.id,
        module=row.technical_name,
        module_slug=row.slug,
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
