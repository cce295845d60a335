"""Demo data for the storefront's browser tests (web/e2e): categories, publishers and
published modules of every license type, written into the database of a running
``marketplace dev`` (the one under ``MARKETPLACE_DATA_DIR``) through the repositories the
application uses. Playwright's global setup runs ``python -m tests.web_seed`` once.

The catalogue is fixed (slugs below) so browser tests can name what they look for; a test
that needs more (accounts, orders, reviews) makes it through the API, as a user would."""

import asyncio
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cli.main import database_url
from domain.access import Role
from domain.modules import ModuleStatus
from models.db import make_engine, make_sessionmaker
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories import categories, modules, publishers, users
from services.credentials import hash_password
from settings import get_settings

PASSWORD = "demo password 1234"


@dataclass(frozen=True)
class Demo:
    slug: str
    name: str
    category: str
    license_type: str = "free"
    price: Decimal | None = None
    period: str | None = None
    trial_days: int | None = None
    publisher: str = "acme"
    featured: bool = False
    downloads: int = 0
    tags: tuple[str, ...] = ()
    description: str = field(default="")


CATEGORIES = [  # (slug, name, parent slug)
    ("authentication", "Authentication", None),
    ("single-sign-on", "Single sign-on", "authentication"),
    ("data-charts", "Data & Charts", None),
    ("payments", "Payments", None),
]
PUBLISHERS = [  # (slug, display name, verified)
    ("acme", "Acme Modules", True),
    ("indie-dev", "Indie Dev", False),
]
MODULES = [
    Demo(
        "oauth-login",
        "OAuth Login",
        "authentication",
        featured=True,
        downloads=900,
        tags=("auth", "oauth"),
        description="# OAuth Login\n\nSign in with **GitHub** or Google. "
        "See [the docs](https://example.com/docs).",
    ),
    Demo(
        "saml-sso",
        "SAML SSO",
        "single-sign-on",
        "paid",
        Decimal("49.00"),
        downloads=300,
        tags=("auth", "saml"),
    ),
    Demo(
        "two-factor",
        "Two-Factor Codes",
        "authentication",
        "subscription",
        Decimal("5.00"),
        period="monthly",
        publisher="indie-dev",
        downloads=120,
    ),
    Demo("chart-kit", "Chart Kit", "data-charts", featured=True, downloads=750, tags=("charts",)),
    Demo(
        "invoice-pdf",
        "Invoice PDF",
        "payments",
        "paid",
        Decimal("19.00"),
        downloads=410,
        tags=("pdf", "billing"),
    ),
    Demo(
        "stripe-bridge",
        "Stripe Bridge",
        "payments",
        "trial",
        Decimal("12.50"),
        trial_days=14,
        publisher="indie-dev",
        downloads=95,
    ),
    *[
        Demo(
            f"widget-{n:02d}",
            f"Dashboard Widget {n:02d}",
            "data-charts",
            publisher="indie-dev" if n % 2 else "acme",
            downloads=50 - n,
        )
        for n in range(1, 13)
    ],
]


async def seed(url: str) -> dict[str, object]:
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        async with sessions() as session:
            made_categories: dict[str, MarketplaceCategory] = {}
            for order, (slug, name, parent) in enumerate(CATEGORIES):
                category = MarketplaceCategory(
                    name=name,
                    slug=slug,
                    order=order,
                    parent_id=made_categories[parent].id if parent else None,
                )
                await categories.save_category(session, category)
                made_categories[slug] = category
            made_publishers: dict[str, Publisher] = {}
            for slug, name, verified in PUBLISHERS:
                owner = await users.create_user(
                    session,
                    email=f"{slug}@example.com",
                    password_hash=hash_password(PASSWORD),
                    full_name=name,
                    role=Role.PUBLISHER,
                )
                owner.email_verified_at = now
                made_publishers[slug] = await publishers.create_publisher(
                    session,
                    Publisher(
                        user_id=owner.id,
                        display_name=name,
                        slug=slug,
                        status="active",
                        verified=verified,
                        verification_date=now if verified else None,
                    ),
                )
            for index, demo in enumerate(MODULES):
                module = MarketplaceModule(
                    publisher_id=made_publishers[demo.publisher].id,
                    technical_name=demo.slug.replace("-", "_"),
                    slug=demo.slug,
                    display_name=demo.name,
                    short_description=f"{demo.name}: a demo module for the storefront.",
                    description=demo.description or f"About **{demo.name}**.",
                    category_id=made_categories[demo.category].id,
                    license_type=demo.license_type,
                    price=demo.price,
                    currency="USD",
                    subscription_period=demo.period,
                    trial_days=demo.trial_days,
                    tags=list(demo.tags),
                    status=ModuleStatus.PUBLISHED,
                    visibility="public",
                    featured=demo.featured,
                    featured_order=index if demo.featured else None,
                    download_count=demo.downloads,
                    submitted_at=now - timedelta(days=30 - index),
                    reviewed_at=now - timedelta(days=29 - index),
                )
                await modules.save_module(session, module)
                session.add(
                    ModuleVersion(
                        module_id=module.id,
                        version="1.0.0",
                        semver_major=1,
                        semver_minor=0,
                        semver_patch=0,
                        zip_file_url=f"modules/{demo.slug}/1.0.0.zip",
                        status="published",
                        is_latest=True,
                        min_fastvue_version="2.0",
                        published_at=now - timedelta(days=29 - index),
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()
    return {
        "categories": [slug for slug, _, _ in CATEGORIES],
        "modules": [demo.slug for demo in MODULES],
        "publishers": {slug: f"{slug}@example.com" for slug, _, _ in PUBLISHERS},
        "password": PASSWORD,
    }


if __name__ == "__main__":
    url, _server = database_url(get_settings())
    sys.stdout.write(json.dumps(asyncio.run(seed(url))) + "\n")
