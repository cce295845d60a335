"""Who may call what: every endpoint the app exposes, asked by each of five callers.

The table below is the authorization policy, one row per endpoint and one column per
caller. A cell is either an allowed outcome (a 2xx, checked for its effect) or a refusal
(exact status and ``error`` code, and nothing in the database changed). A route added to
the app without a row here fails ``test_every_exposed_route_is_in_the_matrix``.

Callers: nobody signed in, a consumer, a publisher who does not own the resources, the
publisher who owns them (the module, the API token), and an admin without a publisher
profile. Module endpoints act on a draft owned by the owner; approve/reject act on a
pending module owned by the owner. The admin's approve/reject cells need a worker to see
the rows, so they run on committed data with a real worker (``via_worker``).
"""

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from api import security
from domain.access import Role
from domain.modules import ModuleStatus
from models import Base, ModuleDownload, ModuleVersion
from models.module import MarketplaceCategory, MarketplaceModule
from models.publisher import Publisher
from models.user import ApiToken, User
from tests.conftest import Api
from tests.factories import PASSWORD, unique
from worker import build_worker

ROLES = ("anonymous", "consumer", "other_publisher", "owner", "admin")


@dataclass(frozen=True)
class Outcome:
    status: int
    error: str | None = None  # None: the call is allowed
    via_worker: bool = False  # allowed, but only observable with a worker on committed data

    @property
    def allowed(self) -> bool:
        return self.error is None

    def __str__(self) -> str:
        return f"{self.status}" + (f" {self.error}" if self.error else "")


# Allowed: the status, and the effect is checked (CHECKS below).
OK200 = Outcome(200)
OK201 = Outcome(201)
OK202 = Outcome(202)
OK204 = Outcome(204)
WORKER = Outcome(200, via_worker=True)  # 200 with the module decided, checked with a worker

# Refused: the status and the error code, and the database is left as it was.
ANON = Outcome(401, "not_authenticated")
SCOPE = Outcome(403, "insufficient_scope")
NOPUB = Outcome(403, "publisher_profile_required")
NOMOD = Outcome(404, "module_not_found")  # another publisher's module is as good as absent
NOTOK = Outcome(404, "token_not_found")  # another account's token likewise
ISPUB = Outcome(409, "already_publisher")

AU = "/api/v1/auth"
P = "/api/v1/publisher"
M = "/api/v1/publisher/modules"
C = "/api/v1/admin/marketplace/categories"
A = "/api/v1/admin/marketplace"
D = "/api/v1/marketplace"

# fmt: off
MATRIX: dict[tuple[str, str], tuple[Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    # endpoint                                       anonymous consumer other    owner   admin
    ("GET",    "/openapi.json"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/docs"):                            (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/docs/oauth2-redirect"):            (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/redoc"):                           (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/health"):                          (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/ready"):                           (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/register"):                   (OK201,  OK201,  OK201,  OK201,  OK201),
    ("POST",   AU + "/token"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    AU + "/me"):                         (ANON,   OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/tokens"):                     (ANON,   OK201,  OK201,  OK201,  OK201),
    ("GET",    AU + "/tokens"):                     (ANON,   OK200,  OK200,  OK200,  OK200),
    ("DELETE", AU + "/tokens/{token_id}"):          (ANON,   NOTOK,  NOTOK,  OK204,  NOTOK),
    ("POST",   P + "/register"):                    (ANON,   OK201,  ISPUB,  ISPUB,  OK201),
    ("GET",    P + "/profile"):                     (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("PUT",    P + "/profile"):                     (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("POST",   P + "/verify"):                      (ANON,   SCOPE,  OK202,  OK202,  NOPUB),
    ("GET",    M):                                  (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("POST",   M):                                  (ANON,   SCOPE,  OK201,  OK201,  NOPUB),
    ("GET",    M + "/{module_id}"):                 (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("PUT",    M + "/{module_id}"):                 (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("DELETE", M + "/{module_id}"):                 (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("POST",   M + "/{module_id}/submit"):          (ANON,   SCOPE,  NOMOD,  OK202,  NOPUB),
    ("GET",    M + "/{module_id}/review"):          (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("GET",    "/api/v1/marketplace/categories"):   (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    C):                                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   C):                                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK201),
    ("PUT",    C + "/{category_id}"):               (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("DELETE", C + "/{category_id}"):               (ANON,   SCOPE,  SCOPE,  SCOPE,  OK204),
    ("GET",    A + "/pending"):                     (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/modules/{module_id}/approve"): (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    ("POST",   A + "/modules/{module_id}/reject"):  (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    # the public catalogue; {slug} is the owner's *private* module, or the owner's profile
    ("GET",    D + "/modules"):                     (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/modules/{slug}"):              (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/modules/{slug}/versions"):     (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/search"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/featured"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/trending"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/publishers/{slug}"):           (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/publishers/{slug}/modules"):   (OK200,  OK200,  OK200,  OK200,  OK200),
}
# fmt: on


# --- the app and the world every cell runs in ------------------------------------------


@pytest.fixture
def api(shared_api: Api) -> Api:
    """Every case here runs on the module's one app (see conftest's ``shared_api``)."""
    return shared_api


@dataclass
class World:
    callers: dict[str, User | None]
    owner_publisher: Publisher
    other_publisher: Publisher
    draft: MarketplaceModule  # owned by the owner
    pending: MarketplaceModule  # owned by the owner, waiting for review
    category: MarketplaceCategory  # empty, so it may be deleted
    token_id: int  # the owner's personal API token
    listed: MarketplaceModule  # published, public, featured, downloaded: a third publisher's
    private: MarketplaceModule  # the same, but private, owned by the owner

    def publisher_of(self, role: str) -> Publisher | None:
        return {"owner": self.owner_publisher, "other_publisher": self.other_publisher}.get(role)


_PASSWORD_HASH = security.hash_password(PASSWORD)


async def build_world(sessions) -> World:
    """All the rows in one transaction (factories would take one per row: too slow here)."""

    def user(role: Role) -> User:
        return User(
            email=f"{unique(role.value)}@example.com",
            password_hash=_PASSWORD_HASH,
            full_name="Matrix User",
            role=role,
        )

    def module(publisher: Publisher, status: ModuleStatus) -> MarketplaceModule:
        name = unique("mod")
        return MarketplaceModule(
            publisher=publisher,
            technical_name=name.replace("-", "_"),
            slug=name,
            display_name=f"Module {name}",
            short_description="Does a useful thing.",
            status=status,
            submitted_at=datetime.now(UTC) if status is ModuleStatus.PENDING else None,
        )

    def publisher(owner: User) -> Publisher:
        slug = unique("pub")
        return Publisher(user_id=owner.id, display_name=slug, slug=slug, status="active")

    callers = {
        "anonymous": None,
        "consumer": user(Role.CONSUMER),
        "other_publisher": user(Role.PUBLISHER),
        "owner": user(Role.PUBLISHER),
        "admin": user(Role.ADMIN),
    }
    slug = unique("cat")
    category = MarketplaceCategory(name=slug, slug=slug)
    _, prefix, digest = security.new_api_token()
    token = ApiToken(
        user=callers["owner"],
        name="owner's ci",
        token_prefix=prefix,
        token_hash=digest,
        scopes=["account"],
    )
    async with sessions() as session:
        session.add_all([u for u in callers.values() if u is not None] + [category, token])
        await session.flush()
        other_publisher = publisher(callers["other_publisher"])
        owner_publisher = publisher(callers["owner"])
        draft = module(owner_publisher, ModuleStatus.DRAFT)
        pending = module(owner_publisher, ModuleStatus.PENDING)
        session.add_all([other_publisher, owner_publisher, draft, pending])
        listed, private = await add_catalogue(session, owner_publisher)
        await session.commit()
    return World(
        callers=callers,
        owner_publisher=owner_publisher,
        other_publisher=other_publisher,
        draft=draft,
        pending=pending,
        category=category,
        token_id=token.id,
        listed=listed,
        private=private,
    )


async def add_catalogue(session, owner_publisher: Publisher):
    """A listed module of a third publisher and the owner's private one: both published,
    featured, downloaded today, with a version, and both about "catalogue"."""
    shop_owner = User(
        email=f"{unique('shop')}@example.com",
        password_hash=_PASSWORD_HASH,
        role=Role.PUBLISHER,
    )
    session.add(shop_owner)
    await session.flush()
    shop = Publisher(
        user_id=shop_owner.id, display_name="Shop", slug=unique("shop"), status="active"
    )
    listed, private = [
        MarketplaceModule(
            publisher=publisher,
            technical_name=unique("mod").replace("-", "_"),
            slug=unique("mod"),
            display_name=f"Catalogue {visibility}",
            short_description="Listed in the public catalogue, or not.",
            status=ModuleStatus.PUBLISHED,
            visibility=visibility,
            featured=True,
        )
        for publisher, visibility in ((shop, "public"), (owner_publisher, "private"))
    ]
    versions = [
        ModuleVersion(module=m, version="1.0.0", zip_file_url="k", status="published")
        for m in (listed, private)
    ]
    session.add_all([shop, listed, private, *versions])
    await session.flush()
    session.add_all(ModuleDownload(module_id=v.module_id, version_id=v.id) for v in versions)
    return listed, private


def url_of(path: str, world: World) -> str:
    decided = path.endswith(("/approve", "/reject"))
    profile = path.startswith(D + "/publishers/")
    return path.format(
        module_id=(world.pending if decided else world.draft).id,
        category_id=world.category.id,
        token_id=world.token_id,
        slug=(world.owner_publisher if profile else world.private).slug,
    )


def body_of(method: str, path: str, world: World) -> dict:
    """The request payload for an endpoint: always a valid one, so only access decides."""
    tag = uuid.uuid4().hex[:8]
    payloads = {
        ("POST", AU + "/register"): {
            "json": {"email": f"matrix-{tag}@example.com", "password": PASSWORD}
        },
        ("POST", AU + "/token"): {
            "data": {"username": world.callers["owner"].email, "password": PASSWORD}
        },
        ("POST", AU + "/tokens"): {"json": {"name": "matrix", "scopes": ["account"]}},
        ("POST", P + "/register"): {"json": {"display_name": f"Matrix {tag}"}},
        ("PUT", P + "/profile"): {"json": {"bio": f"bio {tag}"}},
        ("POST", M): {
            "json": {
                "technical_name": f"matrix_{tag}",
                "display_name": f"Matrix {tag}",
                "short_description": "Made by the authorization matrix.",
            }
        },
        ("PUT", M + "/{module_id}"): {"json": {"display_name": f"Renamed {tag}"}},
        ("POST", C): {"json": {"name": f"Matrix {tag}"}},
        ("PUT", C + "/{category_id}"): {"json": {"name": f"Renamed {tag}"}},
        ("POST", A + "/modules/{module_id}/approve"): {"json": {"note": "looks good"}},
        ("POST", A + "/modules/{module_id}/reject"): {"json": {"reason": "screenshots missing"}},
    }
    payloads[("GET", D + "/search")] = {"params": {"q": "catalogue"}}
    return payloads.get((method, path), {})


async def snapshot(sessions) -> dict:
    """Every row of every table, to show that a refused call changed nothing."""
    parts = ", ".join(
        f"'{t.name}', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY to_jsonb(r)::text), "
        f"'[]'::jsonb) FROM \"{t.name}\" r)"
        for t in Base.metadata.sorted_tables
    )
    async with sessions() as session:
        value = (await session.execute(text(f"SELECT jsonb_build_object({parts})"))).scalar_one()
    return json.loads(value) if isinstance(value, str) else value


# --- what an allowed call must have done ------------------------------------------------

Check = Callable[[httpx.Response, World, str, "Env"], Awaitable[None]]


@dataclass
class Env:
    api: object
    make: object
    temporal_client: object


async def _reload(env: Env, model, key):
    return await env.make.reload(model, key)


async def check_health(r, w, role, env):
    assert r.json() == {"status": "ok"}


async def check_ready(r, w, role, env):
    assert r.json()["status"] == "ready"


async def check_openapi(r, w, role, env):
    assert "/api/v1/auth/me" in r.json()["paths"]


async def check_html(r, w, role, env):
    assert r.headers["content-type"].startswith("text/html")


async def check_register(r, w, role, env):
    body = r.json()
    assert body["role"] == "consumer" and body["email"].startswith("matrix-")


async def check_sign_in(r, w, role, env):
    token = r.json()["access_token"]
    assert token and r.json()["token_type"] == "bearer"
    me = await env.api.request(
        "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.json()["id"] == w.callers["owner"].id, "the token is the owner's, whoever asked"


async def check_me(r, w, role, env):
    assert r.json()["id"] == w.callers[role].id


async def check_token_created(r, w, role, env):
    assert r.json()["token"].startswith("fvm_")
    assert r.json()["scopes"] == ["account"]


async def check_token_list(r, w, role, env):
    ids = [t["id"] for t in r.json()]
    assert (w.token_id in ids) is (role == "owner"), "each caller sees only their own tokens"


async def check_token_revoked(r, w, role, env):
    token = await _reload(env, ApiToken, w.token_id)
    assert token.revoked_at is not None


async def check_publisher_registered(r, w, role, env):
    assert r.json()["display_name"].startswith("Matrix ")
    user = await _reload(env, User, w.callers[role].id)
    assert user.role == ("admin" if role == "admin" else "publisher")


async def check_own_profile(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id


async def check_profile_updated(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id
    stored = await _reload(env, Publisher, w.publisher_of(role).id)
    assert stored.bio == r.json()["bio"] and stored.bio.startswith("bio ")
    untouched = "other_publisher" if role == "owner" else "owner"
    assert (await _reload(env, Publisher, w.publisher_of(untouched).id)).bio is None


async def check_verification_requested(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id
    assert r.json()["verification_requested_at"] is not None


async def check_module_list(r, w, role, env):
    ids = {m["id"] for m in r.json()["items"]}
    if role == "owner":
        assert ids == {w.draft.id, w.pending.id, w.private.id} and r.json()["total"] == 3
    else:
        assert ids == set() and r.json()["total"] == 0, "another publisher's modules leaked"


async def check_module_created(r, w, role, env):
    assert r.json()["publisher_id"] == w.publisher_of(role).id
    assert r.json()["status"] == "draft"


async def check_module_read(r, w, role, env):
    assert r.json()["id"] == w.draft.id and r.json()["slug"] == w.draft.slug


async def check_module_updated(r, w, role, env):
    stored = await _reload(env, MarketplaceModule, w.draft.id)
    assert stored.display_name == r.json()["display_name"]
    assert stored.display_name.startswith("Renamed ")


async def check_module_archived(r, w, role, env):
    assert r.json()["status"] == "archived"
    assert (await _reload(env, MarketplaceModule, w.draft.id)).status == "archived"


async def check_submitted(r, w, role, env):
    workflow_id = f"review-{w.draft.slug}"
    try:
        assert r.json()["workflow_id"] == workflow_id
        assert r.json()["module"]["status"] == "pending"
        assert (await _reload(env, MarketplaceModule, w.draft.id)).status == "pending"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # Nobody will ever decide this review: the rows are rolled back.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")


async def check_review_status(r, w, role, env):
    body = r.json()
    assert body["module_id"] == w.draft.id and body["status"] == "draft"
    assert body["workflow_id"] == f"review-{w.draft.slug}"


async def check_public_tree(r, w, role, env):
    assert w.category.id in {c["id"] for c in r.json()}


async def check_admin_tree(r, w, role, env):
    assert w.category.id in {c["id"] for c in r.json()}


async def check_category_created(r, w, role, env):
    assert r.json()["name"].startswith("Matrix ")
    assert await _reload(env, MarketplaceCategory, r.json()["id"]) is not None


async def check_category_updated(r, w, role, env):
    stored = await _reload(env, MarketplaceCategory, w.category.id)
    assert stored.name == r.json()["name"] and stored.name.startswith("Renamed ")


async def check_category_deleted(r, w, role, env):
    assert await _reload(env, MarketplaceCategory, w.category.id) is None


async def check_pending_queue(r, w, role, env):
    assert [m["id"] for m in r.json()["items"]] == [w.pending.id]


async def check_catalogue(r, w, role, env):
    body = r.json()
    ids = [m["id"] for m in (body["items"] if isinstance(body, dict) else body)]
    assert w.listed.id in ids, "the listed module is shown to everyone"
    assert w.private.id not in ids, "a private module is never listed, even to its owner"


async def check_private_page(r, w, role, env):
    assert r.json()["id"] == w.private.id and r.json()["visibility"] == "private"


async def check_private_versions(r, w, role, env):
    assert [v["version"] for v in r.json()] == ["1.0.0"]


async def check_publisher_profile(r, w, role, env):
    assert r.json()["slug"] == w.owner_publisher.slug
    assert r.json()["module_count"] == 0, "the private module is not counted"


async def check_publisher_modules(r, w, role, env):
    assert r.json()["items"] == [] and r.json()["total"] == 0


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", "/openapi.json"): check_openapi,
    ("GET", "/docs"): check_html,
    ("GET", "/docs/oauth2-redirect"): check_html,
    ("GET", "/redoc"): check_html,
    ("GET", "/health"): check_health,
    ("GET", "/ready"): check_ready,
    ("POST", AU + "/register"): check_register,
    ("POST", AU + "/token"): check_sign_in,
    ("GET", AU + "/me"): check_me,
    ("POST", AU + "/tokens"): check_token_created,
    ("GET", AU + "/tokens"): check_token_list,
    ("DELETE", AU + "/tokens/{token_id}"): check_token_revoked,
    ("POST", P + "/register"): check_publisher_registered,
    ("GET", P + "/profile"): check_own_profile,
    ("PUT", P + "/profile"): check_profile_updated,
    ("POST", P + "/verify"): check_verification_requested,
    ("GET", M): check_module_list,
    ("POST", M): check_module_created,
    ("GET", M + "/{module_id}"): check_module_read,
    ("PUT", M + "/{module_id}"): check_module_updated,
    ("DELETE", M + "/{module_id}"): check_module_archived,
    ("POST", M + "/{module_id}/submit"): check_submitted,
    ("GET", M + "/{module_id}/review"): check_review_status,
    ("GET", "/api/v1/marketplace/categories"): check_public_tree,
    ("GET", C): check_admin_tree,
    ("POST", C): check_category_created,
    ("PUT", C + "/{category_id}"): check_category_updated,
    ("DELETE", C + "/{category_id}"): check_category_deleted,
    ("GET", A + "/pending"): check_pending_queue,
    ("GET", D + "/modules"): check_catalogue,
    ("GET", D + "/modules/{slug}"): check_private_page,
    ("GET", D + "/modules/{slug}/versions"): check_private_versions,
    ("GET", D + "/search"): check_catalogue,
    ("GET", D + "/featured"): check_catalogue,
    ("GET", D + "/trending"): check_catalogue,
    ("GET", D + "/publishers/{slug}"): check_publisher_profile,
    ("GET", D + "/publishers/{slug}/modules"): check_publisher_modules,
}


# --- the cells --------------------------------------------------------------------------


def cells(*, via_worker: bool):
    for (method, path), outcomes in MATRIX.items():
        for role, outcome in zip(ROLES, outcomes, strict=True):
            if outcome.via_worker is via_worker:
                yield pytest.param(
                    method, path, role, outcome, id=f"{method} {path} | {role} -> {outcome}"
                )


@pytest.mark.parametrize(("method", "path", "role", "expected"), list(cells(via_worker=False)))
async def test_access(api, make, db, temporal_dev, method, path, role, expected):
    world = await build_world(db)
    before = await snapshot(db)

    response = await api.request(
        method,
        url_of(path, world),
        as_user=world.callers[role],
        **body_of(method, path, world),
    )

    assert response.status_code == expected.status, response.text
    if expected.allowed:
        env = Env(api=api, make=make, temporal_client=temporal_dev.client)
        await CHECKS[(method, path)](response, world, role, env)
        return
    assert response.json()["error"] == expected.error, response.text
    if expected.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert await snapshot(db) == before, "a refused call changed the database"


@pytest.mark.workflow
@pytest.mark.parametrize(("method", "path", "role", "expected"), list(cells(via_worker=True)))
async def test_access_decided_by_the_review_workflow(
    committed_api, make_committed, committed, settings, temporal_dev, method, path, role, expected
):
    """Approve/reject really decide: run a worker that sees the committed rows."""
    assert role == "admin", "only an admin's decision should reach the workflow"
    admin = await make_committed.admin()
    _, publisher = await make_committed.publisher()
    pending = await make_committed.module(publisher, ModuleStatus.PENDING)
    payload = {"note": "looks good"} if path.endswith("/approve") else {"reason": "no docs"}

    async with build_worker(temporal_dev.client, settings, committed):
        response = await committed_api.request(
            method,
            path.format(module_id=pending.id),
            as_user=admin,
            json=payload,
        )

    assert response.status_code == expected.status, response.text
    resulting = "published" if path.endswith("/approve") else "rejected"
    assert response.json()["module"]["status"] == resulting
    assert response.json()["workflow_id"] == f"review-{pending.slug}"
    stored = await make_committed.reload(MarketplaceModule, pending.id)
    assert stored.status == resulting and stored.reviewed_by == admin.id
    if resulting == "rejected":
        assert stored.rejection_reason == "no docs"


# --- the matrix covers the app ----------------------------------------------------------


def exposed_endpoints(app) -> set[tuple[str, str]]:
    """(method, path) of every route, looking inside included routers. HEAD answers
    like GET wherever GET exists, so it is not a separate row; a route without methods
    (a mount, a websocket) shows up as ("*", path) so it cannot slip by."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI ≥ 0.16x: nested contexts
    except ImportError:  # older FastAPI flattens included routers into app.routes
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    found: set[tuple[str, str]] = set()
    for route in routes:
        methods = set(getattr(route, "methods", None) or ())
        if not methods:
            found.add(("*", route.path))
            continue
        if "GET" in methods:
            methods.discard("HEAD")
        found.update((method, route.path) for method in methods)
    return found


async def test_every_exposed_route_is_in_the_matrix(shared_app):
    exposed = exposed_endpoints(shared_app)
    assert len(exposed) >= 30, f"route discovery found too little: {sorted(exposed)}"
    missing = exposed - MATRIX.keys()
    assert not missing, f"routes without an authorization row in MATRIX: {sorted(missing)}"
    stale = MATRIX.keys() - exposed
    assert not stale, f"MATRIX rows for routes the app no longer has: {sorted(stale)}"


async def test_every_allowed_cell_has_a_check():
    for (method, path), outcomes in MATRIX.items():
        assert len(outcomes) == len(ROLES)
        needs_check = any(o.allowed and not o.via_worker for o in outcomes)
        assert not needs_check or (method, path) in CHECKS, f"no check for {method} {path}"
