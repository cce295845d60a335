"""Platform settings rows: the admin-editable values over the deployment's defaults."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.platform_settings import PlatformSettings, effective
from models.platform import PlatformSetting


async def stored(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(PlatformSetting.key, PlatformSetting.value))
    return {key: value for key, value in rows.all()}


async def current(session: AsyncSession, defaults: dict[str, Any]) -> PlatformSettings:
    return effective(await stored(session), defaults)


async def put(session: AsyncSession, key: str, value: Any, updated_by: int | None) -> None:
    await session.execute(
        insert(PlatformSetting)
        .values(key=key, value=value, updated_by=updated_by)
        .on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "updated_by": updated_by}
        )
    )
