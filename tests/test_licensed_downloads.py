"""Paid modules download only with a license that covers the version."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.licensing import LicenseStatus, license_covers_version
from domain.modules import ModuleStatus
from models.module import ModuleVersion
from tests.factories import issue_license as issue

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "expires_at", "published_at", "covered"),
    [
        (LicenseStatus.ACTIVE, None, NOW, True),
        (LicenseStatus.ACTIVE, NOW + DAY, NOW, True),
        (LicenseStatus.ACTIVE, NOW - DAY, NOW - 2 * DAY, True),
        (LicenseStatus.ACTIVE, NOW - DAY, NOW, False),
        (LicenseStatus.EXPIRED, NOW - DAY, NOW - DAY, True),
        (LicenseStatus.EXPIRED, NOW - DAY, NOW - DAY + timedelta(seconds=1), False),
        (LicenseStatus.CANCELLED, NOW - DAY, NOW - 3 * DAY, True),
        (LicenseStatus.CANCELLED, None, NOW - 3 * DAY, False),
        (LicenseStatus.REVOKED, None, NOW - 3 * DAY, False),
        (LicenseStatus.REVOKED, NOW + DAY, NOW - 3 * DAY, False),
    ],
)
def test_which_versions_a_license_covers(status, expires_at, published_at, covered):
    assert license_covers_version(status, expires_at, published_at, NOW) is covered


@pytest.fixture
async def paid(api, make, db):
    """A paid module with 1.0.0 released 30 days ago and 2.0.0 released yesterday."""
    _, publisher = await make.publisher()
    module = await make.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("49.00")
    )
    storage = api.http._transport.app.state.adapters.storage
    now = datetime.now(UTC)
    async with db() as session:
        for number, age, latest in (("1.0.0", 30, False), ("2.0.0", 1, True)):
            key = f"modules/{module.technical_name}/{number}/p.zip"
            path = api.settings.data_dir / f"{number}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(number.encode())
            storage.put_file(key, path)
            session.add(
                ModuleVersion(
                    module_id=module.id,
                    version=number,
                    zip_file_url=key,
                    zip_file_hash="0" * 64,
                    zip_file_size=5,
                    signature="c2ln",
                    signature_key_id="0123456789abcdef",
                    status="published",
                    is_latest=latest,
                    published_at=now - timedelta(days=age),
                )
            )
        await session.commit()
    return module


async def status_of(api, module, version, user=None) -> tuple[int, str | None]:
    response = await api.request(
        "GET", f"/api/v1/marketplace/modules/{module.slug}/download/{version}", as_user=user
    )
    error = response.json().get("error") if response.status_code >= 400 else None
    return response.status_code, error


async def test_only_a_covering_license_opens_a_paid_download(api, make, db, paid):
    app = api.http._transport.app
    now = datetime.now(UTC)
    assert await status_of(api, paid, "2.0.0") == (401, "license_required")
    stranger = await make.user()
    assert await status_of(api, paid, "2.0.0", stranger) == (403, "license_required")

    live = await make.user()
    await issue(db, app, live, paid)
    assert await status_of(api, paid, "2.0.0", live) == (307, None)

    lapsed = await make.user()
    await issue(db, app, lapsed, paid, status="expired", expires_at=now - timedelta(days=10))
    assert await status_of(api, paid, "1.0.0", lapsed) == (307, None)
    assert await status_of(api, paid, "2.0.0", lapsed) == (403, "license_required")

    refunded = await make.user()
    await issue(db, app, refunded, paid, status="revoked")
    assert await status_of(api, paid, "1.0.0", refunded) == (403, "license_required")
