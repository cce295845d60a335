"""Creating admin accounts from the command line."""

from domain.errors import DomainError
from models.db import make_engine, make_sessionmaker
from services import accounts


async def create_admin(database_url: str, email: str, password: str, full_name: str | None) -> str:
    """What was done, as a line for the terminal; ValueError for a bad email or password."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            made = await accounts.make_admin(
                session, email=email, password=password, full_name=full_name
            )
    except DomainError as error:
        if error.code not in accounts.ADMIN_INPUT_ERRORS:
            raise
        raise ValueError(error.detail) from None
    finally:
        await engine.dispose()
    return f"admin {made.email} created" if made.created else f"{made.email} is now an admin"
