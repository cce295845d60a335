"""Creating admin accounts from the command line."""

from domain.errors import DomainError
from models.db import make_engine, make_sessionmaker
from services import accounts
from services.credentials import PasswordHashing


async def create_admin(
    database_url: str, email: str, password: str, full_name: str | None, *, promote: bool = False
) -> tuple[str, bool]:
    """What was done, as a line for the terminal, and whether an existing account was
    promoted (then with a warning when its address was never verified); ValueError for a
    bad email or password, or an existing account without ``promote`` (nothing is changed
    then)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            made = await accounts.make_admin(
                session,
                email=email,
                password=password,
                full_name=full_name,
                passwords=PasswordHashing(1),
                promote=promote,
            )
    except DomainError as error:
        if error.code not in accounts.ADMIN_INPUT_ERRORS:
            raise
        raise ValueError(error.detail) from None
    finally:
        await engine.dispose()
    if made.created:
        return f"admin {made.email} created", False
    message = (
        f"existing account {made.email} is now an admin: its password was replaced by the "
        f"one given here, and its {made.api_tokens_revoked} API token(s) and signed-in "
        "sessions were revoked"
    )
    if not made.email_verified:
        message += (
            f"\nTHE ADDRESS {made.email} IS UNVERIFIED: nobody ever proved they receive mail "
            "there, so the account may have been registered by someone who does not own it. "
            "Its profile, orders and publisher data are theirs; check them, or disable the "
            "account and create a fresh admin under an address you control."
        )
    return message, True
