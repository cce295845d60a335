"""Turn database constraint violations into the domain's conflict errors."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict


@asynccontextmanager
async def unique_violations(
    session: AsyncSession, codes: dict[str, tuple[str, str]]
) -> AsyncIterator[None]:
    """Flush inside a savepoint; a unique violation named in ``codes`` becomes a Conflict.

    ``codes`` maps a constraint or index name to (error code, detail). The savepoint keeps
    the surrounding transaction usable, so a lost race reads like any other duplicate.
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint in codes:
            code, detail = codes[constraint]
            raise Conflict(code, detail) from error
        raise
