"""Demo data for the storefront's browser tests (web/e2e): categories, publishers and
published modules of every license type, written into the database of a running
``marketplace dev`` (the one under ``MARKETPLACE_DATA_DIR``) through the repositories the
application uses. Playwright's global setup runs ``python -m tests.web_seed`` once.

The catalogue is fixed (slugs below) so browser tests can name what they look for; a test
that needs more (accounts, orders, reviews) makes it through the API, as a user would.
Beside it (``seed_module_pages``): Chart Kit's two releases (1.1.0 a real archive in the
storage, signed as the pipeline signs), screenshots and reviews with a publisher reply; a
buyer holding a license of SAML SSO; publisher profiles; and an unlisted module whose
description, review and publisher bio carry script payloads (the pages must show them
inert). Unlisted, so the listing's counts stay those of ``MODULES``."""

import asyncio
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from cli.main import database_url
from domain.access import Role
from domain.licensing import license_key_hash, new_license_key
from domain.module_signature import SignatureFormat, statement
from domain.modules import ModuleStatus
from integrations.license_vault import LicenseVault
from integrations.wiring import keyring_from, license_key_secret, storage_from
from models.commerce import License
from models.db import make_engine, make_sessionmaker
from models.module import MarketplaceCategory, MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories import categories, modules, publishers, reviews, users
from models.review import ModuleReview
from models.user import User
from services.credentials import hash_password
from settings import Settings, get_settings
from tests.archives import Entry, build_zip

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
            made_modules: dict[str, MarketplaceModule] = {}
            made_versions: dict[str, ModuleVersion] = {}
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
                made_modules[demo.slug] = module
                made_versions[demo.slug] = ModuleVersion(
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
                session.add(made_versions[demo.slug])
            await session.commit()
            pages = await seed_module_pages(
                session, get_settings(), made_publishers, made_modules, made_versions, now
            )
    finally:
        await engine.dispose()
    return {
        "categories": [slug for slug, _, _ in CATEGORIES],
        "modules": [demo.slug for demo in MODULES],
        "publishers": {slug: f"{slug}@example.com" for slug, _, _ in PUBLISHERS},
        "password": PASSWORD,
        **pages,
    }


HOSTILE_SLUG = "hostile-notes"
HOSTILE_MARKDOWN = (
    "Safe words before. <script>alert('script')</script>\n\n"
    "<img src=x onerror=\"alert('onerror')\"> and "
    "[a javascript link](javascript:alert('link')) and "
    "<a href=\"javascript:alert('raw')\">a raw link</a>.\n\n"
    "Safe words after."
)
HOSTILE_TEXT = "<img src=x onerror=alert('title')>"
BUYER_EMAIL = "buyer@example.com"


def _archive(technical_name: str, version: str) -> bytes:
    manifest = {"technical_name": technical_name, "version": version, "name": technical_name}
    return build_zip(
        [
            Entry(f"{technical_name}/manifest.json", json.dumps(manifest).encode()),
            Entry(f"{technical_name}/__init__.py", f"VERSION = {version!r}\n".encode()),
        ]
    )


async def _user(session: AsyncSession, email: str, name: str, now: datetime) -> User:
    user = await users.create_user(
        session,
        email=email,
        password_hash=hash_password(PASSWORD),
        full_name=name,
        role=Role.CONSUMER,
    )
    user.email_verified_at = now
    return user


async def seed_module_pages(
    session: AsyncSession,
    settings: Settings,
    made_publishers: dict[str, Publisher],
    made_modules: dict[str, MarketplaceModule],
    made_versions: dict[str, ModuleVersion],
    now: datetime,
) -> dict[str, object]:
    """What the search, module, category and publisher pages show (module docstring)."""
    acme, indie = made_publishers["acme"], made_publishers["indie-dev"]
    acme.bio = "We build **modules** for FastVue teams. [Our blog](https://acme.example/blog)"
    acme.website = "https://acme.example"
    acme.company_name = "Acme Modules Ltd"
    indie.bio = HOSTILE_MARKDOWN
    indie.website = "javascript:alert('website')"

    # Chart Kit: 1.0.0 and 1.1.0, the latest a real archive signed over its statement.
    chart = made_modules["chart-kit"]
    chart.screenshots = [
        {
            "url": "https://screens.example/chart-kit/lines.png",
            "caption": "Line charts",
            "order": 0,
        },
        {"url": "https://screens.example/chart-kit/bars.png", "caption": "Bar charts", "order": 1},
    ]
    first = made_versions["chart-kit"]
    first.changelog = "- First release: line and bar charts."
    first.published_at = now - timedelta(days=20)
    first.is_latest = False
    data = _archive(chart.technical_name, "1.1.0")
    sha = hashlib.sha256(data).hexdigest()
    key = f"modules/{chart.slug}/{chart.technical_name}-1.1.0.zip"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.zip"
        path.write_bytes(data)
        storage_from(settings).put_file(key, path)
    text = statement(
        slug=chart.slug, technical_name=chart.technical_name, version="1.1.0", sha256=sha
    )
    signed = keyring_from(settings).sign_statement(text)
    latest = ModuleVersion(
        module_id=chart.id,
        version="1.1.0",
        semver_major=1,
        semver_minor=1,
        semver_patch=0,
        zip_file_url=key,
        zip_file_size=len(data),
        zip_file_hash=sha,
        signature=signed.signature_b64,
        signature_key_id=signed.key_id,
        signature_format=SignatureFormat.STATEMENT,
        signed_statement=text,
        status="published",
        is_latest=True,
        min_fastvue_version="2.0",
        max_fastvue_version="3.0",
        changelog="- Pie charts.\n- Fixed: legends overlapped on small screens.",
        release_notes="Pie charts are here. **No breaking change.**",
        published_at=now - timedelta(days=2),
    )
    session.add(latest)

    readers = [
        await _user(session, f"reader{n}@example.com", name, now)
        for n, name in enumerate(("Ada Reader", "Ben Reader", "Cy Reader"), start=1)
    ]
    await session.flush()
    for reader, rating, title, content in (
        (readers[0], 5, "Exactly what we needed", "Charts in *minutes*."),
        (readers[1], 4, "Solid", None),
        (readers[2], 2, "Missing radar charts", "No radar chart yet; the rest works."),
    ):
        session.add(
            ModuleReview(
                module_id=chart.id,
                user_id=reader.id,
                version_id=latest.id,
                rating=rating,
                title=title,
                content=content,
                helpful_count=3 if rating == 5 else 0,
                publisher_response=("Radar charts are planned for 1.2." if rating == 2 else None),
                publisher_responded_at=now if rating == 2 else None,
                created_by=reader.id,
                updated_by=reader.id,
            )
        )
    await session.flush()
    await reviews.refresh_module_rating(session, chart.id)

    # A buyer who owns SAML SSO.
    buyer = await _user(session, BUYER_EMAIL, "Bea Buyer", now)
    await session.flush()
    saml = made_modules["saml-sso"]
    license_key = new_license_key()
    digest = license_key_hash(license_key)
    session.add(
        License(
            license_key=digest,
            key_ciphertext=LicenseVault(license_key_secret(settings)).seal(
                license_key, bound_to=digest
            ),
            key_last=license_key[-5:],
            user_id=buyer.id,
            module_id=saml.id,
            license_type="purchase",
            purchased_at=now - timedelta(days=3),
        )
    )

    # Script payloads in a listing, its review and its publisher's bio.
    hostile = MarketplaceModule(
        publisher_id=indie.id,
        technical_name="hostile_notes",
        slug=HOSTILE_SLUG,
        display_name="Hostile Notes",
        short_description="<script>alert('summary')</script> notes",
        description=HOSTILE_MARKDOWN,
        category_id=chart.category_id,
        license_type="free",
        currency="USD",
        tags=["notes"],
        status=ModuleStatus.PUBLISHED,
        visibility="unlisted",
        submitted_at=now - timedelta(days=5),
        reviewed_at=now - timedelta(days=5),
    )
    await modules.save_module(session, hostile)
    session.add(
        ModuleReview(
            module_id=hostile.id,
            user_id=readers[0].id,
            rating=1,
            title=HOSTILE_TEXT,
            content=HOSTILE_MARKDOWN,
            created_by=readers[0].id,
            updated_by=readers[0].id,
        )
    )
    await session.flush()
    await reviews.refresh_module_rating(session, hostile.id)
    await session.commit()
    return {
        "buyer": BUYER_EMAIL,
        "hostile": {"module": HOSTILE_SLUG, "text": HOSTILE_TEXT},
        "signed": {"module": chart.slug, "version": "1.1.0", "sha256": sha},
    }


if __name__ == "__main__":
    url, _server = database_url(get_settings())
    sys.stdout.write(json.dumps(asyncio.run(seed(url))) + "\n")
