"""The category tree: what buyers browse, and how admins manage it."""

import pytest
from sqlalchemy import select

from domain.access import Role
from domain.modules import ModuleStatus
from models.platform import AuditLogEntry

PUBLIC = "/api/v1/marketplace/categories"
ADMIN = "/api/v1/admin/marketplace/categories"


def names(nodes) -> list:
    """The tree as nested [name, [children...]] pairs, in the order the API gave them."""
    return [[n["name"], names(n["children"])] for n in nodes]


def find(nodes, category_id):
    for node in nodes:
        if node["id"] == category_id:
            return node
        found = find(node["children"], category_id)
        if found is not None:
            return found
    return None


async def public_tree(api):
    response = await api.request("GET", PUBLIC)
    assert response.status_code == 200, response.text
    return response.json()


async def admin_tree(api, admin):
    response = await api.request("GET", ADMIN, as_user=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def create(api, admin, **body):
    return await api.request("POST", ADMIN, as_user=admin, json=body)


async def update(api, admin, category_id, **body):
    return await api.request("PUT", f"{ADMIN}/{category_id}", as_user=admin, json=body)


async def audit_rows(db, action: str, entity_id: int) -> list[AuditLogEntry]:
    async with db() as session:
        result = await session.execute(
            select(AuditLogEntry)
            .where(AuditLogEntry.action == action, AuditLogEntry.entity_id == str(entity_id))
            .order_by(AuditLogEntry.id)
        )
        return list(result.scalars())


@pytest.fixture
async def admin(make):
    return await make.admin()


@pytest.fixture
async def shelf(make):
    """A small catalogue with inactive branches at two depths."""
    c = {}
    c["zeta"] = await make.category(name="Zeta", order=0)
    c["beta"] = await make.category(name="Beta", order=1)
    c["alpha"] = await make.category(name="Alpha", order=1)
    c["apps"] = await make.category(c["alpha"].id, name="Apps", order=5)
    c["charts"] = await make.category(c["alpha"].id, name="Charts", order=0)
    c["bots"] = await make.category(c["alpha"].id, name="Bots", order=0)
    c["bots_ai"] = await make.category(c["bots"].id, name="AI Bots")
    c["hidden"] = await make.category(name="Hidden", order=0, is_active=False)
    c["under_hidden"] = await make.category(c["hidden"].id, name="Under Hidden")
    c["deep_hidden"] = await make.category(c["under_hidden"].id, name="Deep Hidden")
    c["retired"] = await make.category(c["beta"].id, name="Retired", is_active=False)
    c["under_retired"] = await make.category(c["retired"].id, name="Under Retired")
    return c


# --- the public tree -------------------------------------------------------------------------


async def test_the_public_tree_shows_active_categories_by_order_then_name(api, shelf):
    tree = await public_tree(api)
    assert names(tree) == [
        ["Zeta", []],
        ["Alpha", [["Bots", [["AI Bots", []]]], ["Charts", []], ["Apps", []]]],
        ["Beta", []],
    ]
    alpha = find(tree, shelf["alpha"].id)
    assert alpha["slug"] == shelf["alpha"].slug
    assert alpha["parent_id"] is None
    assert alpha["is_active"] is True
    assert find(tree, shelf["bots_ai"].id)["parent_id"] == shelf["bots"].id


async def test_names_sort_alphabetically_whatever_their_case(api, make):
    for name in ("banana", "Zebra", "cherry", "Apple"):
        await make.category(name=name, order=0)
    assert [n["name"] for n in await public_tree(api)] == ["Apple", "banana", "cherry", "Zebra"]


async def test_an_inactive_category_hides_everything_under_it(api, shelf):
    tree = await public_tree(api)
    for key in ("hidden", "under_hidden", "deep_hidden", "retired", "under_retired"):
        assert find(tree, shelf[key].id) is None, key


async def test_the_public_tree_is_empty_without_categories(api):
    assert await public_tree(api) == []


# --- the admin tree --------------------------------------------------------------------------


async def test_admins_see_the_whole_tree_including_inactive_branches(api, admin, shelf):
    tree = await admin_tree(api, admin)
    assert names(tree) == [
        ["Hidden", [["Under Hidden", [["Deep Hidden", []]]]]],
        ["Zeta", []],
        ["Alpha", [["Bots", [["AI Bots", []]]], ["Charts", []], ["Apps", []]]],
        ["Beta", [["Retired", [["Under Retired", []]]]]],
    ]
    assert find(tree, shelf["hidden"].id)["is_active"] is False
    assert find(tree, shelf["under_hidden"].id)["is_active"] is True


@pytest.mark.parametrize("role", [Role.CONSUMER, Role.PUBLISHER], ids=lambda r: r.value)
async def test_only_admins_manage_categories(api, make, shelf, role):
    user = await make.user(role)
    target = shelf["zeta"].id
    for method, url, body in (
        ("GET", ADMIN, None),
        ("POST", ADMIN, {"name": "Sneaky"}),
        ("PUT", f"{ADMIN}/{target}", {"name": "Renamed"}),
        ("DELETE", f"{ADMIN}/{target}", None),
    ):
        response = await api.request(method, url, as_user=user, json=body)
        assert response.status_code == 403, (method, url)
        assert response.json()["error"] == "insufficient_scope"
    assert names(await public_tree(api))[0] == ["Zeta", []]
    assert "Sneaky" not in str(names(await public_tree(api)))


async def test_category_management_needs_a_signed_in_admin(api, shelf):
    target = shelf["zeta"].id
    for method, url in (
        ("GET", ADMIN),
        ("POST", ADMIN),
        ("PUT", f"{ADMIN}/{target}"),
        ("DELETE", f"{ADMIN}/{target}"),
    ):
        response = await api.request(method, url, json={"name": "x"})
        assert response.status_code == 401, (method, url)
        assert response.json()["error"] == "not_authenticated"


# --- creating --------------------------------------------------------------------------------


async def test_an_admin_creates_a_category_with_a_derived_slug(api, admin, db):
    response = await create(
        api, admin, name="Developer Tools", description="For developers.", icon="wrench", order=3
    )
    assert response.status_code == 201, response.text
    category = response.json()
    assert category["slug"] == "developer-tools"
    assert category["name"] == "Developer Tools"
    assert category["description"] == "For developers."
    assert category["icon"] == "wrench"
    assert category["order"] == 3
    assert category["is_active"] is True
    assert category["parent_id"] is None

    assert names(await public_tree(api)) == [["Developer Tools", []]]
    [row] = await audit_rows(db, "category.create", category["id"])
    assert row.actor_id == admin.id


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        pytest.param("Café & Crème", "cafe-creme", id="accents"),
        pytest.param("  CRM / ERP  ", "crm-erp", id="punctuation-and-spaces"),
    ],
)
async def test_the_slug_comes_from_the_name(api, admin, name, slug):
    response = await create(api, admin, name=name)
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == slug


async def test_an_explicit_slug_is_kept(api, admin):
    response = await create(api, admin, name="Developer Tools", slug="dev")
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == "dev"


async def test_a_name_without_letters_needs_an_explicit_slug(api, admin):
    refused = await create(api, admin, name="日本語")
    assert refused.status_code == 400
    assert refused.json()["error"] == "slug_required"
    accepted = await create(api, admin, name="日本語", slug="japanese")
    assert accepted.status_code == 201, accepted.text


async def test_a_child_category_appears_under_its_parent(api, admin):
    parent = (await create(api, admin, name="Sales")).json()
    child = await create(api, admin, name="Invoicing", parent_id=parent["id"])
    assert child.status_code == 201, child.text
    assert child.json()["parent_id"] == parent["id"]
    assert names(await public_tree(api)) == [["Sales", [["Invoicing", []]]]]


async def test_a_duplicate_slug_is_a_conflict(api, admin):
    assert (await create(api, admin, name="Developer Tools")).status_code == 201
    derived = await create(api, admin, name="DEVELOPER tools!")
    assert derived.status_code == 409
    assert derived.json()["error"] == "slug_taken"
    explicit = await create(api, admin, name="Something Else", slug="developer-tools")
    assert explicit.status_code == 409
    assert explicit.json()["error"] == "slug_taken"
    assert names(await admin_tree(api, admin)) == [["Developer Tools", []]]


async def test_an_unknown_parent_is_refused(api, admin):
    response = await create(api, admin, name="Orphan", parent_id=999_999)
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_parent"
    assert await admin_tree(api, admin) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-name"),
        pytest.param({"name": "   "}, id="blank-name"),
        pytest.param({"name": "x" * 101}, id="name-too-long"),
        pytest.param({"name": "Tools", "slug": "Not A Slug"}, id="malformed-slug"),
        pytest.param({"name": "Tools", "slug": "-tools"}, id="slug-leading-hyphen"),
        pytest.param({"name": "Tools", "order": -1}, id="negative-order"),
        pytest.param({"name": "Tools", "order": 10_001}, id="order-too-big"),
        pytest.param({"name": "Tools", "parent_id": 0}, id="parent-zero"),
        pytest.param({"name": "Tools", "parent_id": 2**31}, id="parent-overflow"),
        pytest.param({"name": "Tools", "module_count": 5}, id="module-count-not-settable"),
        pytest.param({"name": "Tools", "icon": "x" * 51}, id="icon-too-long"),
    ],
)
async def test_malformed_categories_are_422(api, admin, body):
    response = await create(api, admin, **body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    assert await admin_tree(api, admin) == []


# --- updating --------------------------------------------------------------------------------


async def test_updating_changes_only_the_fields_sent(api, admin, make, db):
    category = await make.category(name="Old Name", description="Kept", icon="star", order=4)
    response = await update(api, admin, category.id, name="New Name")
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "New Name"
    assert updated["slug"] == category.slug, "renaming does not change the slug"
    assert (updated["description"], updated["icon"], updated["order"]) == ("Kept", "star", 4)
    assert updated["is_active"] is True
    [row] = await audit_rows(db, "category.update", category.id)
    assert row.changes == {"name": "New Name"}


async def test_reparenting_moves_the_whole_subtree(api, admin, make):
    a = await make.category(name="A", order=0)
    b = await make.category(name="B", order=1)
    b1 = await make.category(b.id, name="B1")

    moved = await update(api, admin, b.id, parent_id=a.id)
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == a.id
    assert names(await public_tree(api)) == [["A", [["B", [["B1", []]]]]]]

    back = await update(api, admin, b.id, parent_id=None)
    assert back.status_code == 200, back.text
    assert back.json()["parent_id"] is None
    assert names(await public_tree(api)) == [["A", []], ["B", [["B1", []]]]]
    assert b1.id  # still there, under B


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
async def test_a_category_cannot_move_under_itself_or_a_descendant(api, admin, make, target):
    top = await make.category(name="Top")
    child = await make.category(top.id, name="Child")
    grandchild = await make.category(child.id, name="Grandchild")
    parent = {"itself": top, "child": child, "grandchild": grandchild}[target]

    response = await update(api, admin, top.id, parent_id=parent.id, name="Renamed")
    assert response.status_code == 400
    assert response.json()["error"] == "category_cycle"
    assert names(await admin_tree(api, admin)) == [["Top", [["Child", [["Grandchild", []]]]]]], (
        "a refused move changes nothing"
    )


async def test_moving_under_an_unknown_parent_is_refused(api, admin, make):
    category = await make.category(name="Stays")
    response = await update(api, admin, category.id, parent_id=999_999)
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_parent"
    assert names(await admin_tree(api, admin)) == [["Stays", []]]


async def test_deactivating_hides_the_branch_from_buyers_but_not_admins(api, admin, make):
    parent = await make.category(name="Parent")
    await make.category(parent.id, name="Child")
    response = await update(api, admin, parent.id, is_active=False)
    assert response.status_code == 200, response.text
    assert await public_tree(api) == []
    assert names(await admin_tree(api, admin)) == [["Parent", [["Child", []]]]]

    reactivated = await update(api, admin, parent.id, is_active=True)
    assert reactivated.status_code == 200
    assert names(await public_tree(api)) == [["Parent", [["Child", []]]]]


async def test_reordering_changes_the_display_order(api, admin, make):
    first = await make.category(name="First", order=0)
    await make.category(name="Second", order=1)
    response = await update(api, admin, first.id, order=2)
    assert response.status_code == 200, response.text
    assert names(await public_tree(api)) == [["Second", []], ["First", []]]


@pytest.mark.parametrize("field", ["name", "slug", "order", "is_active"])
async def test_required_fields_cannot_be_set_to_null(api, admin, make, field):
    category = await make.category(name="Tools", order=2)
    response = await update(api, admin, category.id, **{field: None})
    assert response.status_code == 400
    assert response.json()["error"] == "field_required"
    [node] = await admin_tree(api, admin)
    assert (node["name"], node["slug"], node["order"], node["is_active"]) == (
        "Tools",
        category.slug,
        2,
        True,
    )


async def test_an_update_cannot_take_another_categorys_slug(api, admin, make):
    taken = await make.category(name="Taken")
    other = await make.category(name="Other")
    response = await update(api, admin, other.id, slug=taken.slug)
    assert response.status_code == 409
    assert response.json()["error"] == "slug_taken"
    assert find(await admin_tree(api, admin), other.id)["slug"] == other.slug


async def test_updating_a_missing_category_is_404(api, admin):
    response = await update(api, admin, 999_999, name="Ghost")
    assert response.status_code == 404
    assert response.json()["error"] == "category_not_found"


# --- deleting --------------------------------------------------------------------------------


async def test_an_empty_category_can_be_deleted(api, admin, make, db):
    keep = await make.category(name="Keep")
    gone = await make.category(name="Gone")
    response = await api.request("DELETE", f"{ADMIN}/{gone.id}", as_user=admin)
    assert response.status_code == 204
    assert response.content == b""
    assert names(await admin_tree(api, admin)) == [["Keep", []]]
    [row] = await audit_rows(db, "category.delete", gone.id)
    assert row.changes == {"slug": gone.slug}

    again = await api.request("DELETE", f"{ADMIN}/{gone.id}", as_user=admin)
    assert again.status_code == 404
    assert again.json()["error"] == "category_not_found"
    assert keep.id


async def test_a_category_with_subcategories_cannot_be_deleted(api, admin, make):
    parent = await make.category(name="Parent")
    child = await make.category(parent.id, name="Child", is_active=False)
    response = await api.request("DELETE", f"{ADMIN}/{parent.id}", as_user=admin)
    assert response.status_code == 409
    assert response.json()["error"] == "category_in_use"
    assert names(await admin_tree(api, admin)) == [["Parent", [["Child", []]]]]

    assert (await api.request("DELETE", f"{ADMIN}/{child.id}", as_user=admin)).status_code == 204
    emptied = await api.request("DELETE", f"{ADMIN}/{parent.id}", as_user=admin)
    assert emptied.status_code == 204
    assert await admin_tree(api, admin) == []


async def test_a_category_holding_modules_cannot_be_deleted(api, admin, make):
    category = await make.category(name="Busy")
    _, publisher = await make.publisher()
    await make.module(publisher, category_id=category.id)
    response = await api.request("DELETE", f"{ADMIN}/{category.id}", as_user=admin)
    assert response.status_code == 409
    assert response.json()["error"] == "category_in_use"
    assert names(await admin_tree(api, admin)) == [["Busy", []]]


async def test_each_category_counts_its_published_public_modules(api, make):
    _, publisher = await make.publisher()
    tools = await make.category(name="Tools")
    await make.category(name="Empty")
    await make.module(publisher, status=ModuleStatus.PUBLISHED, category_id=tools.id)
    await make.module(publisher, status=ModuleStatus.PUBLISHED, category_id=tools.id)
    await make.module(publisher, status=ModuleStatus.DRAFT, category_id=tools.id)
    await make.module(publisher, status=ModuleStatus.PENDING, category_id=tools.id)
    await make.module(
        publisher, status=ModuleStatus.PUBLISHED, category_id=tools.id, visibility="private"
    )
    counts = {node["name"]: node["module_count"] for node in await public_tree(api)}
    assert counts == {"Empty": 0, "Tools": 2}
