"""Queries on accounts and API tokens."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.repositories.errors import unique_violations
from models.user import ApiToken, EmailToken, User


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_for_update(session: AsyncSession, user_id: int) -> User | None:
    """The account, locked until the transaction ends (its token version is bumped)."""
    return await session.get(User, user_id, with_for_update=True, populate_existing=True)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession, *, email: str, password_hash: str, full_name: str | None, role: str
) -> User:
    user = User(email=email, password_hash=password_hash, full_name=full_name, role=role)
    async with unique_violations(
        session, {"uq_users_email_lower": ("email_taken", "an account with this email exists")}
    ):
        session.add(user)
    return user


async def mark_login(session: AsyncSession, user: User, at: datetime) -> None:
    user.last_login_at = at
    await session.flush()


async def add_token(session: AsyncSession, token: ApiToken) -> ApiToken:
    session.add(token)
    await session.flush()
    return token


async def list_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    result = await session.execute(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    )
    return list(result.scalars())


async def get_token(session: AsyncSession, user_id: int, token_id: int) -> ApiToken | None:
    result = await session.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
    return result.scalar_one_or_none()


async def get_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    result = await session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash))
    return result.scalar_one_or_none()


async def touch_token(session: AsyncSession, token_id: int, at: datetime) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


async def revoke_tokens(session: AsyncSession, user_id: int, at: datetime) -> int:
    """Revoke every API token of the account not revoked yet; how many were."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def add_email_token(session: AsyncSession, token: EmailToken) -> EmailToken:
    session.add(token)
    await session.flush()
    return token


async def take_email_token(
    session: AsyncSession, token_hash: str, purpose: str
) -> EmailToken | None:
    """The unspent token of ``purpose`` with this hash, locked so that two redemptions at
    once cannot both spend it."""
    result = await session.execute(
        select(EmailToken)
        .where(
            EmailToken.token_hash == token_hash,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def spend_email_tokens(
    session: AsyncSession, user_id: int, purpose: str, at: datetime
) -> int:
    """Mark every unspent token of the account for ``purpose`` spent; how many were."""
    result = await session.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .values(used_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)
