"""Admins featuring modules: only published ones, in the order they choose, each change
audited; the public featured list follows."""

import pytest
from sqlalchemy import select

from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from models.platform import AuditLogEntry
from tests.conftest import Api

ADMIN = "/api/v1/admin/marketplace/modules"
FEATURED = "/api/v1/marketplace/featured"


@pytest.fixture
def api(shared_api: Api) -> Api:
    """One app for the module (see conftest.shared_app): many small table-driven cases."""
    return shared_api


async def feature(api, admin, module_id: int, **body):
    return await api.request(
        "POST", f"{ADMIN}/{module_id}/feature", as_user=admin, json=body or None
    )


async def unfeature(api, admin, module_id: int):
    return await api.request("POST", f"{ADMIN}/{module_id}/unfeature", as_user=admin)


async def featured_ids(api, mine) -> list[int]:
    response = await api.request("GET", FEATURED, params={"limit": 100})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json() if item["id"] in mine]


async def actions(db, module_id: int) -> list[tuple[str, int | None, dict]]:
    async with db() as session:
        rows = await session.execute(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == "module")
            .where(AuditLogEntry.entity_id == str(module_id))
            .order_by(AuditLogEntry.id)
        )
        return [(e.action, e.actor_id, e.changes) for e in rows.scalars()]


@pytest.fixture
async def catalogue(make):
    _, publisher = await make.publisher()
    return [await make.module(publisher, status=ModuleStatus.PUBLISHED) for _ in range(3)]


async def test_featured_modules_show_in_the_order_admins_give(api, make, db, catalogue):
    admin = await make.admin()
    first, second, third = catalogue
    mine = {m.id for m in catalogue}
    assert await featured_ids(api, mine) == []

    response = await feature(api, admin, first.id, order=5)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"module"}, "wrapped like approve and submit"
    assert response.json()["module"]["featured"] is True
    assert response.json()["module"]["featured_order"] == 5
    await feature(api, admin, second.id, order=1)
    unordered = await feature(api, admin, third.id)
    assert unordered.json()["module"]["featured_order"] is None
    assert await featured_ids(api, mine) == [second.id, first.id, third.id], "unordered last"

    moved = await feature(api, admin, first.id, order=0)
    assert moved.json()["module"]["featured_order"] == 0
    assert await featured_ids(api, mine) == [first.id, second.id, third.id]
    kept = await feature(api, admin, first.id)
    assert kept.json()["module"]["featured_order"] == 0, "featuring again without an order keeps it"

    off = await unfeature(api, admin, first.id)
    assert off.status_code == 200
    assert set(off.json()) == {"module"}
    assert off.json()["module"]["featured"] is False
    assert off.json()["module"]["featured_order"] is None
    assert await featured_ids(api, mine) == [second.id, third.id]
    assert (await unfeature(api, admin, first.id)).status_code == 200, "already off: fine"

    assert await actions(db, first.id) == [
        (
            "module.feature",
            admin.id,
            {
                "before": {"featured": False, "featured_order": None},
                "after": {"featured": True, "featured_order": 5},
            },
        ),
        (
            "module.feature",
            admin.id,
            {
                "before": {"featured": True, "featured_order": 5},
                "after": {"featured": True, "featured_order": 0},
            },
        ),
        ("module.unfeature", admin.id, {"before": {"featured": True, "featured_order": 0}}),
    ], "one entry per change; repeats that change nothing are not logged"


@pytest.mark.parametrize(
    "status",
    [ModuleStatus.DRAFT, ModuleStatus.PENDING, ModuleStatus.REJECTED, ModuleStatus.ARCHIVED],
)
async def test_only_published_modules_can_be_featured(api, make, db, status):
    admin = await make.admin()
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=status)
    response = await feature(api, admin, module.id, order=1)
    assert response.status_code == 409
    assert response.json()["error"] == "module_not_published"
    stored = await make.reload(MarketplaceModule, module.id)
    assert stored.featured is False and stored.featured_order is None
    assert await actions(db, module.id) == []


async def test_a_featured_module_leaves_the_list_when_it_is_no_longer_listed(api, make, db):
    admin = await make.admin()
    owner, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    await feature(api, admin, module.id, order=1)
    archived = await api.request("DELETE", f"/api/v1/publisher/modules/{module.id}", as_user=owner)
    assert archived.status_code == 200, archived.text
    assert await featured_ids(api, {module.id}) == []


async def test_only_admins_feature_modules(api, make, catalogue):
    module = catalogue[0]
    consumer = await make.user()
    a_publisher, _ = await make.publisher()
    for path in ("feature", "unfeature"):
        url = f"{ADMIN}/{module.id}/{path}"
        for caller in (consumer, a_publisher):
            response = await api.request("POST", url, as_user=caller, json={"order": 0})
            assert response.status_code == 403
            assert response.json()["error"] == "insufficient_scope"
        assert (await api.request("POST", url, json={"order": 0})).status_code == 401
    assert (await make.reload(MarketplaceModule, module.id)).featured is False


async def test_an_unknown_module_is_not_found(api, make):
    admin = await make.admin()
    for response in (
        await feature(api, admin, 2**31 - 1, order=1),
        await unfeature(api, admin, 2**31 - 1),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "module_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"order": -1},
        {"order": 2**31},
        {"order": "1"},
        {"order": 1.5},
        {"order": True},
        {"order": 1, "featured": False},
        [1],
    ],
)
async def test_a_bad_order_is_refused(api, make, catalogue, body):
    admin = await make.admin()
    module = catalogue[0]
    response = await api.request("POST", f"{ADMIN}/{module.id}/feature", as_user=admin, json=body)
    assert response.status_code == 422, response.text
    assert (await make.reload(MarketplaceModule, module.id)).featured is False
