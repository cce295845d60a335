"""Creating admin accounts from the command line."""

from pydantic import EmailStr, TypeAdapter, ValidationError

from api.routers.auth_schemas import PASSWORD_MAX, PASSWORD_MIN
from api.security import hash_password
from domain.access import Role
from models.db import make_engine, make_sessionmaker
from models.repositories import audit, users


async def create_admin(database_url: str, email: str, password: str, full_name: str | None) -> str:
    try:
        email = str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise ValueError(f"not an email address: {email}") from None
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValueError(f"the password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine).begin() as session:
            user = await users.get_user_by_email(session, email)
            if user is not None:
                user.role = Role.ADMIN
                message = f"{email} is now an admin"
            else:
                user = await users.create_user(
                    session,
                    email=email,
                    password_hash=hash_password(password),
                    full_name=full_name,
                    role=Role.ADMIN,
                )
                message = f"admin {email} created"
            await session.flush()
            await audit.record(
                session,
                actor_id=None,
                action="user.make_admin",
                entity_type="user",
                entity_id=user.id,
                changes={"via": "cli"},
            )
    finally:
        await engine.dispose()
    return message
