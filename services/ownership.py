"""Finding what belongs to the calling publisher; anything else is simply not found."""

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.repositories import modules


async def own_module(
    session: AsyncSession, publisher: Publisher, module_id: int, *, lock: bool = False
) -> MarketplaceModule:
    """The caller's module; another publisher's module is as absent as a missing one."""
    getter = modules.get_module_for_update if lock else modules.get_module
    module = await getter(session, module_id)
    if module is None or module.publisher_id != publisher.id:
        raise NotFound("module_not_found", "no such module in your listings")
    return module
