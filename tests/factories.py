"""Rows a test needs, made through the same repositories the application uses."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.access import Role
from domain.licensing import license_key_hash, new_license_key
from domain.modules import ModuleStatus
from models.commerce import License
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories import categories, modules, publishers, users
from models.user import User
from services.credentials import hash_password

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Factory:
    sessions: async_sessionmaker

    async def user(
        self, role: Role = Role.CONSUMER, email: str | None = None, *, verified: bool = True
    ) -> User:
        """An account; its address verified unless ``verified`` is False."""
        async with self.sessions() as session:
            user = await users.create_user(
                session,
                email=email or f"{unique('user')}@example.com",
                password_hash=_PASSWORD_HASH,
                full_name="Test User",
                role=role,
            )
            if verified:
                user.email_verified_at = datetime.now(UTC)
            await session.commit()
            return user

    async def publisher(self, status: str = "active") -> tuple[User, Publisher]:
        user = await self.user(Role.PUBLISHER)
        async with self.sessions() as session:
            slug = unique("pub")
            publisher = await publishers.create_publisher(
                session,
                Publisher(user_id=user.id, display_name=slug, slug=slug, status=status),
            )
            await session.commit()
            return user, publisher

    async def admin(self) -> User:
        return await self.user(Role.ADMIN)

    async def category(self, parent_id: int | None = None, **fields) -> MarketplaceCategory:
        slug = unique("cat")
        async with self.sessions() as session:
            category = MarketplaceCategory(
                name=fields.pop("name", slug), slug=slug, parent_id=parent_id, **fields
            )
            await categories.save_category(session, category)
            await session.commit()
            return category

    async def module(
        self, publisher: Publisher, status: ModuleStatus = ModuleStatus.DRAFT, **fields
    ) -> MarketplaceModule:
        name = unique("mod")
        submitted = datetime.now(UTC) if status is ModuleStatus.PENDING else None
        async with self.sessions() as session:
            module = MarketplaceModule(
                publisher_id=publisher.id,
                technical_name=fields.pop("technical_name", name.replace("-", "_")),
                slug=name,
                display_name=fields.pop("display_name", f"Module {name}"),
                short_description=fields.pop("short_description", "Does a useful thing."),
                status=status,
                submitted_at=fields.pop("submitted_at", submitted),
                **fields,
            )
            await modules.save_module(session, module)
            await session.commit()
            return module

    async def version(
        self, module: MarketplaceModule, status: str = "published", number: str = "1.0.0"
    ) -> ModuleVersion:
        """A version of ``module`` as the pipeline leaves it (``published`` by default)."""
        major, minor, patch = (int(part) for part in number.split("."))
        async with self.sessions() as session:
            version = ModuleVersion(
                module_id=module.id,
                version=number,
                semver_major=major,
                semver_minor=minor,
                semver_patch=patch,
                zip_file_url=f"modules/{module.slug}/{number}.zip",
                status=status,
                is_latest=status == "published",
                published_at=datetime.now(UTC) if status == "published" else None,
            )
            session.add(version)
            await session.commit()
            return version

    async def admin_publisher(self) -> tuple[User, Publisher]:
        """An admin who also registered as a publisher."""
        user = await self.admin()
        async with self.sessions() as session:
            slug = unique("pub")
            publisher = await publishers.create_publisher(
                session, Publisher(user_id=user.id, display_name=slug, slug=slug, status="active")
            )
            await session.commit()
            return user, publisher

    async def reload(self, model, key):
        async with self.sessions() as session:
            return await session.get(model, key)


async def issue_license(sessions, app, user, module, **fields) -> str:
    """A license as checkout will issue it: only the key's hash and ciphertext stored."""
    key = new_license_key()
    digest = license_key_hash(key)
    async with sessions() as session:
        session.add(
            License(
                license_key=digest,
                key_ciphertext=app.state.adapters.license_vault.seal(key, bound_to=digest),
                key_last=key[-5:],
                user_id=user.id,
                module_id=module.id,
                license_type=fields.pop("license_type", "purchase"),
                purchased_at=datetime.now(UTC),
                **fields,
            )
        )
        await session.commit()
    return key
