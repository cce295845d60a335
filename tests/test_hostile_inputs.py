"""Hostile input on every endpoint that takes input.

Every refused request must come back as a 4xx with a machine-readable ``error`` code
(never a 500), and must leave the database exactly as it was: each case compares every
row of every table before and after. A few positive cases check that text which merely
looks dangerous (SQL, unicode) is stored literally.

Decisions (approve/reject) are sent against a module that really is pending, with no
worker running: a payload the edge wrongly accepts would wait forever on the review
workflow, so those requests run under a deadline and a timeout fails the test.
"""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from domain.access import Role
from domain.modules import ModuleStatus
from models.module import MarketplaceCategory, MarketplaceModule
from models.publisher import Publisher
from models.user import ApiToken, User
from services import credentials as security
from tests.conftest import Api
from tests.factories import PASSWORD, unique
from tests.helpers import database_snapshot as snapshot

V = "validation_error"  # the error code of a malformed payload (422)
NUL_REFUSED = (400, 422)  # a NUL byte is malformed input: either is fine, a 500 is not
DEADLINE = 30.0
"""Seconds; a refused request answers in milliseconds, but a loaded machine may take
seconds. Only a request that slipped past validation and waits for a worker (none runs
here) takes this long."""
SQL = "'; DROP TABLE users; --"
JSON = {"content-type": "application/json"}

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
TOKENS = "/api/v1/auth/tokens"
AU = "/api/v1/auth"
ACCOUNTS = "/api/v1/admin/marketplace/accounts"
PUB_REGISTER = "/api/v1/publisher/register"
PROFILE = "/api/v1/publisher/profile"
MODULES = "/api/v1/publisher/modules"
DRAFT = MODULES + "/{w.draft.id}"
CATS = "/api/v1/admin/marketplace/categories"
ADMIN = "/api/v1/admin/marketplace"
APPROVE = ADMIN + "/modules/{w.pending.id}/approve"
REJECT = ADMIN + "/modules/{w.pending.id}/reject"


# --- the world --------------------------------------------------------------------------


@dataclass
class World:
    callers: dict[str, User | None]
    publisher: Publisher  # the "publisher" caller's profile
    other_publisher: Publisher
    draft: MarketplaceModule  # free, owned by the publisher
    pending: MarketplaceModule
    rejected: MarketplaceModule
    published: MarketplaceModule  # sits in the category `used`
    archived: MarketplaceModule
    other_module: MarketplaceModule  # another publisher's draft
    root: MarketplaceCategory  # root > child > grandchild
    child: MarketplaceCategory
    grandchild: MarketplaceCategory
    inactive: MarketplaceCategory
    used: MarketplaceCategory
    token_id: int
    token_secret: str  # the publisher's personal API token


_PASSWORD_HASH = security.hash_password(PASSWORD)


async def build_world(sessions) -> World:
    def user(role: Role) -> User:
        return User(
            email=f"{unique(role.value)}@example.com",
            password_hash=_PASSWORD_HASH,
            full_name="Hostile Test",
            role=role,
            email_verified_at=datetime.now(UTC),
        )

    def publisher(owner: User) -> Publisher:
        slug = unique("pub")
        return Publisher(user_id=owner.id, display_name=slug, slug=slug, status="active")

    def module(owner: Publisher, status: ModuleStatus, **fields) -> MarketplaceModule:
        name = unique("mod")
        return MarketplaceModule(
            publisher_id=owner.id,
            technical_name=name.replace("-", "_"),
            slug=name,
            display_name=f"Module {name}",
            short_description="Does a useful thing.",
            status=status,
            submitted_at=datetime.now(UTC) if status is ModuleStatus.PENDING else None,
            **fields,
        )

    def category(**fields) -> MarketplaceCategory:
        slug = unique("cat")
        return MarketplaceCategory(name=slug, slug=slug, **fields)

    callers = {
        "anonymous": None,
        "consumer": user(Role.CONSUMER),
        "publisher": user(Role.PUBLISHER),
        "other": user(Role.PUBLISHER),
        "admin": user(Role.ADMIN),
    }
    secret, prefix, digest = security.new_api_token()
    async with sessions() as session:
        session.add_all([u for u in callers.values() if u is not None])
        root, inactive, used = category(), category(is_active=False), category()
        session.add_all([root, inactive, used])
        await session.flush()
        child = category(parent_id=root.id)
        session.add(child)
        await session.flush()
        grandchild = category(parent_id=child.id)
        mine, other = publisher(callers["publisher"]), publisher(callers["other"])
        token = ApiToken(
            user_id=callers["publisher"].id,
            name="ci",
            token_prefix=prefix,
            token_hash=digest,
            scopes=["account", "modules:write"],
        )
        session.add_all([grandchild, mine, other, token])
        await session.flush()
        modules = {
            "draft": module(mine, ModuleStatus.DRAFT),
            "pending": module(mine, ModuleStatus.PENDING),
            "rejected": module(mine, ModuleStatus.REJECTED, rejection_reason="no docs"),
            "published": module(mine, ModuleStatus.PUBLISHED, category_id=used.id),
            "archived": module(mine, ModuleStatus.ARCHIVED, archived_at=datetime.now(UTC)),
            "other_module": module(other, ModuleStatus.DRAFT),
        }
        session.add_all(modules.values())
        await session.commit()
    return World(
        callers=callers,
        publisher=mine,
        other_publisher=other,
        root=root,
        child=child,
        grandchild=grandchild,
        inactive=inactive,
        used=used,
        token_id=token.id,
        token_secret=secret,
        **modules,
    )


@pytest.fixture
def api(shared_api: Api) -> Api:
    """Every case here runs on the module's one app (see conftest's ``shared_api``)."""
    return shared_api


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


async def send(api, temporal_dev, world: World, method: str, url: str, caller: str, **kwargs):
    """The request, under a deadline: a decision that slips past validation would wait
    for a worker that is not running."""
    try:
        return await asyncio.wait_for(
            api.request(method, url, as_user=world.callers[caller], **kwargs), DEADLINE
        )
    except TimeoutError:
        try:  # the decision started the review workflow: stop it
            handle = temporal_dev.client.get_workflow_handle(f"review-{world.pending.slug}")
            await handle.terminate("hostile input test cleanup")
        except Exception:
            pass
        pytest.fail(
            f"{method} {url} got no answer within {DEADLINE}s: the payload passed validation "
            "and reached the review workflow instead of being refused with a 4xx"
        )


def assert_refused(response, status, error):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (
        f"expected {' or '.join(map(str, statuses))}, got {response.status_code}: "
        f"{response.text[:500]}"
    )
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    if error is not None:
        assert body["error"] == error, body


# --- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # formatted with w=World, e.g. "{w.draft.id}"
    caller: str
    status: int | tuple[int, ...]
    error: str | None  # None: any code (only for the NUL cases)
    request: dict | Callable[[World], dict]


def case(name, method, path, caller, status, error, **request):
    return pytest.param(Case(method, path, caller, status, error, request), id=name)


def case_w(name, method, path, caller, status, error, request):
    """A case whose request depends on the world's rows."""
    return pytest.param(Case(method, path, caller, status, error, request), id=name)


def module_body(**fields) -> dict:
    body = {
        "technical_name": "hostile_module",
        "slug": "hostile-module",
        "display_name": "Hostile module",
        "short_description": "Tries things.",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def publisher_body(**fields) -> dict:
    return {"display_name": "Hostile Publisher", "slug": "hostile-publisher"} | fields


def n(count: int, char: str = "x") -> str:
    return char * count


LONG_URL = "https://example.com/" + n(481)  # 501 characters


def links(count: int) -> dict:
    return {f"site{i}": f"https://example.com/{i}" for i in range(count)}


# fmt: off
CASES = [
    # ---- POST /api/v1/auth/register ----------------------------------------------------
    case("register: email over 320", "POST", REGISTER, "anonymous", 422, V,
         json={"email": n(64, "a") + "@" + ".".join([n(60, "b")] * 5) + ".com",
               "password": PASSWORD}),
    case("register: password over 256", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve@example.com", "password": n(257)}),
    case("register: full_name over 200", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve@example.com", "password": PASSWORD, "full_name": n(201)}),
    case("register: full_name a number", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve@example.com", "password": PASSWORD, "full_name": 42}),
    case("register: email a list", "POST", REGISTER, "anonymous", 422, V,
         json={"email": ["eve@example.com"], "password": PASSWORD}),
    case("register: password an object", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve@example.com", "password": {"value": PASSWORD}}),
    case("register: unknown field is_active", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve@example.com", "password": PASSWORD, "is_active": False}),
    case("register: SQL as email", "POST", REGISTER, "anonymous", 422, V,
         json={"email": SQL + "@example.com", "password": PASSWORD}),
    case("register: NUL in email", "POST", REGISTER, "anonymous", 422, V,
         json={"email": "eve\x00@example.com", "password": PASSWORD}),
    case("register: NUL in full_name", "POST", REGISTER, "anonymous", NUL_REFUSED, None,
         json={"email": "eve@example.com", "password": PASSWORD, "full_name": "Eve\x00"}),
    case("register: list body", "POST", REGISTER, "anonymous", 422, V, json=[]),
    case("register: not JSON", "POST", REGISTER, "anonymous", 422, V,
         content="email=eve@example.com", headers=JSON),
    case("register: empty body", "POST", REGISTER, "anonymous", 422, V),
    case("register: form instead of JSON", "POST", REGISTER, "anonymous", 422, V,
         data={"email": "eve@example.com", "password": PASSWORD}),
    # ---- the account's lifecycle --------------------------------------------------------
    case("verify email: token a number", "POST", AU + "/verify-email", "anonymous", 422, V,
         json={"token": 12345}),
    case("verify email: token over 200", "POST", AU + "/verify-email", "anonymous", 422, V,
         json={"token": n(201)}),
    case("verify email: NUL in token", "POST", AU + "/verify-email", "anonymous", 422, V,
         json={"token": "abc\x00"}),
    case("verify email: a code never sent", "POST", AU + "/verify-email", "anonymous", 400,
         "invalid_token", json={"token": SQL}),
    case("password: unknown field", "POST", AU + "/password", "consumer", 422, V,
         json={"current_password": PASSWORD, "new_password": n(12), "role": "admin"}),
    case("password: new one too short", "POST", AU + "/password", "consumer", 422, V,
         json={"current_password": PASSWORD, "new_password": "short"}),
    case("password: new one over 256", "POST", AU + "/password", "consumer", 422, V,
         json={"current_password": PASSWORD, "new_password": n(257)}),
    case("password: wrong current one", "POST", AU + "/password", "consumer", 403,
         "wrong_password", json={"current_password": SQL, "new_password": n(12)}),
    case("password: revoke flag a word", "POST", AU + "/password", "consumer", 422, V,
         json={"current_password": PASSWORD, "new_password": n(12), "revoke_api_tokens": "yes"}),
    case("reset: not an email", "POST", AU + "/password-reset", "anonymous", 422, V,
         json={"email": SQL}),
    case("reset: email a list", "POST", AU + "/password-reset", "anonymous", 422, V,
         json={"email": ["eve@example.com"]}),
    case("reset confirm: a code never sent", "POST", AU + "/password-reset/confirm",
         "anonymous", 400, "invalid_token", json={"token": n(43), "new_password": n(12)}),
    case("reset confirm: no new password", "POST", AU + "/password-reset/confirm",
         "anonymous", 422, V, json={"token": n(43)}),
    case("disable: no reason", "POST", ACCOUNTS + "/{w.callers[consumer].id}/disable",
         "admin", 422, V, json={}),
    case("disable: reason over 2000", "POST", ACCOUNTS + "/{w.callers[consumer].id}/disable",
         "admin", 422, V, json={"reason": n(2001)}),
    case("disable: bidi control in reason", "POST",
         ACCOUNTS + "/{w.callers[consumer].id}/disable", "admin", 422, V,
         json={"reason": "fraud\u202e"}),
    case("disable: oneself", "POST", ACCOUNTS + "/{w.callers[admin].id}/disable", "admin",
         403, "cannot_disable_self", json={"reason": "testing"}),
    case("enable: an active account", "POST", ACCOUNTS + "/{w.callers[consumer].id}/enable",
         "admin", 409, "not_disabled", json={}),
    case_w("register: taken email, other case and padded", "POST", REGISTER, "anonymous",
           409, "email_taken",
           lambda w: {"json": {"email": f"  {w.callers['consumer'].email.upper()} ",
                               "password": PASSWORD}}),
    # ---- POST /api/v1/auth/token (form) ------------------------------------------------
    case("sign in: JSON instead of a form", "POST", TOKEN, "anonymous", 422, V,
         json={"username": "eve@example.com", "password": PASSWORD}),
    case("sign in: no password", "POST", TOKEN, "anonymous", 422, V,
         data={"username": "eve@example.com"}),
    case("sign in: bogus grant_type", "POST", TOKEN, "anonymous", 422, V,
         data={"username": "eve@example.com", "password": PASSWORD, "grant_type": "root"}),
    case("sign in: SQL as username", "POST", TOKEN, "anonymous", 401, "invalid_credentials",
         data={"username": "' OR '1'='1' --", "password": "' OR '1'='1' --"}),
    case("sign in: 10k-character username", "POST", TOKEN, "anonymous", 401,
         "invalid_credentials", data={"username": n(10_000), "password": PASSWORD}),
    case("sign in: NUL in username", "POST", TOKEN, "anonymous", (400, 401, 422), None,
         data={"username": "eve\x00@example.com", "password": PASSWORD}),
    case_w("sign in: SQL appended to a real email", "POST", TOKEN, "anonymous", 401,
           "invalid_credentials",
           lambda w: {"data": {"username": w.callers["consumer"].email + "' --",
                               "password": "wrong password"}}),
    # ---- bearer credentials ------------------------------------------------------------
    case("bearer: SQL as API token", "GET", "/api/v1/auth/me", "anonymous", 401,
         "invalid_token", headers={"Authorization": "Bearer fvm_' OR 1=1 --"}),
    case("bearer: 10k-character token", "GET", "/api/v1/auth/me", "anonymous", 401,
         "invalid_token", headers={"Authorization": "Bearer " + n(10_000)}),
    # ---- POST /api/v1/auth/tokens ------------------------------------------------------
    case("token: no scopes", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": []}),
    case("token: unknown scope", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["root"]}),
    case("token: scopes a string", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": "account"}),
    case("token: scopes an object", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": {"account": True}}),
    case("token: five scopes", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"] * 5}),
    case("token: empty name", "POST", TOKENS, "publisher", 422, V,
         json={"name": "", "scopes": ["account"]}),
    case("token: name over 100", "POST", TOKENS, "publisher", 422, V,
         json={"name": n(101), "scopes": ["account"]}),
    case("token: expires_in_days 0", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "expires_in_days": 0}),
    case("token: expires_in_days past the max lifetime", "POST", TOKENS, "publisher", 400,
         "token_lifetime_too_long",
         json={"name": "ci", "scopes": ["account"], "expires_in_days": 366}),
    case("token: expires_in_days a word", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "expires_in_days": "never"}),
    case("token: expires_in_days huge", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "expires_in_days": 10**30}),
    case("token: never expiring", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "expires_in_days": None}),
    case("token: expires_in_days true", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "expires_in_days": True}),
    case("token: unknown field user_id", "POST", TOKENS, "publisher", 422, V,
         json={"name": "ci", "scopes": ["account"], "user_id": 1}),
    case("token: scope beyond the role", "POST", TOKENS, "publisher", 400, "scope_not_allowed",
         json={"name": "ci", "scopes": ["admin"]}),
    case("token: NUL in name", "POST", TOKENS, "publisher", NUL_REFUSED, None,
         json={"name": "c\x00i", "scopes": ["account"]}),
    case("token: list body", "POST", TOKENS, "publisher", 422, V, json=[["account"]]),
    case("token: not JSON", "POST", TOKENS, "publisher", 422, V, content="{", headers=JSON),
    case("token: empty body", "POST", TOKENS, "publisher", 422, V),
    case_w("token: minted with an API token", "POST", TOKENS, "anonymous", 403,
           "token_cannot_mint_tokens",
           lambda w: {"json": {"name": "ci", "scopes": ["account"]},
                      "headers": {"Authorization": f"Bearer {w.token_secret}"}}),
    # ---- POST /api/v1/publisher/register -----------------------------------------------
    case("publisher: display_name over 100", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(display_name=n(101))),
    case("publisher: blank display_name", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(display_name="   ")),
    case("publisher: display_name a number", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(display_name=7)),
    case("publisher: SQL as slug", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(slug=SQL)),
    case("publisher: slug over 100", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(slug=n(101, "a"))),
    case("publisher: unicode slug", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(slug="módulos")),
    case("publisher: upper-case slug", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(slug="Hostile")),
    case("publisher: name without letters", "POST", PUB_REGISTER, "consumer", 400,
         "slug_required", json={"display_name": "!!! ???"}),
    case("publisher: company over 200", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(company_name=n(201))),
    case("publisher: bio over 5000", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(bio=n(5001))),
    case("publisher: javascript website", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(website="javascript:alert(1)")),
    case("publisher: website over 500", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(website=LONG_URL)),
    case("publisher: bad support email", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(support_email="support at example")),
    case("publisher: social_links a list", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(social_links=["https://example.com"])),
    case("publisher: 11 social links", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(social_links=links(11))),
    case("publisher: social link name over 30", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(social_links={n(31): "https://example.com"})),
    case("publisher: ftp social link", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(social_links={"files": "ftp://example.com"})),
    case("publisher: unknown field verified", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(verified=True)),
    case("publisher: unknown field commission_rate", "POST", PUB_REGISTER, "consumer", 422, V,
         json=publisher_body(commission_rate="0.00")),
    case("publisher: NUL in display_name", "POST", PUB_REGISTER, "consumer", NUL_REFUSED, None,
         json=publisher_body(display_name="Evil\x00Corp")),
    case("publisher: NUL in bio", "POST", PUB_REGISTER, "consumer", NUL_REFUSED, None,
         json=publisher_body(bio="about\x00us")),
    case("publisher: NUL in a social link name", "POST", PUB_REGISTER, "consumer", NUL_REFUSED,
         None, json=publisher_body(social_links={"x\x00": "https://example.com"})),
    case("publisher: list body", "POST", PUB_REGISTER, "consumer", 422, V, json=["Evil"]),
    case("publisher: not JSON", "POST", PUB_REGISTER, "consumer", 422, V,
         content="display_name=Evil", headers=JSON),
    case("publisher: empty body", "POST", PUB_REGISTER, "consumer", 422, V),
    case_w("publisher: taken slug", "POST", PUB_REGISTER, "consumer", 409, "slug_taken",
           lambda w: {"json": publisher_body(slug=w.publisher.slug)}),
    case_w("publisher: name that slugifies to a taken slug", "POST", PUB_REGISTER, "consumer",
           409, "slug_taken",
           lambda w: {"json": {"display_name": w.other_publisher.slug.upper().replace("-", " ")}}),
    case("publisher: registering twice", "POST", PUB_REGISTER, "publisher", 409,
         "already_publisher", json=publisher_body()),
    # ---- PUT /api/v1/publisher/profile -------------------------------------------------
    case("profile: display_name null", "PUT", PROFILE, "publisher", 400,
         "display_name_required", json={"display_name": None}),
    case("profile: display_name empty", "PUT", PROFILE, "publisher", 422, V,
         json={"display_name": ""}),
    case("profile: display_name over 100", "PUT", PROFILE, "publisher", 422, V,
         json={"display_name": n(101)}),
    case("profile: bio over 5000", "PUT", PROFILE, "publisher", 422, V, json={"bio": n(5001)}),
    case("profile: logo over 500", "PUT", PROFILE, "publisher", 422, V,
         json={"logo_url": LONG_URL}),
    case("profile: file URL as banner", "PUT", PROFILE, "publisher", 422, V,
         json={"banner_url": "file:///etc/passwd"}),
    case("profile: social_links a list", "PUT", PROFILE, "publisher", 422, V,
         json={"social_links": [["x", "https://example.com"]]}),
    case("profile: slug is not editable", "PUT", PROFILE, "publisher", 422, V,
         json={"slug": "new-slug"}),
    case("profile: unknown field verified", "PUT", PROFILE, "publisher", 422, V,
         json={"verified": True}),
    case("profile: unknown field status", "PUT", PROFILE, "publisher", 422, V,
         json={"status": "active"}),
    case("profile: NUL in bio", "PUT", PROFILE, "publisher", NUL_REFUSED, None,
         json={"bio": "x\x00"}),
    case("profile: NUL in company_name", "PUT", PROFILE, "publisher", NUL_REFUSED, None,
         json={"company_name": "ACME\x00"}),
    case("profile: list body", "PUT", PROFILE, "publisher", 422, V, json=[]),
    case("profile: not JSON", "PUT", PROFILE, "publisher", 422, V, content="bio", headers=JSON),
    case("profile: empty body", "PUT", PROFILE, "publisher", 422, V),
    # ---- POST /api/v1/publisher/modules ------------------------------------------------
    case("module: technical_name over 100", "POST", MODULES, "publisher", 422, V,
         json=module_body(technical_name=n(101, "a"))),
    case("module: technical_name with capitals", "POST", MODULES, "publisher", 422, V,
         json=module_body(technical_name="Hostile_Module")),
    case("module: technical_name starting with a digit", "POST", MODULES, "publisher", 422, V,
         json=module_body(technical_name="1module")),
    case("module: SQL as technical_name", "POST", MODULES, "publisher", 422, V,
         json=module_body(technical_name=SQL)),
    case("module: SQL as slug", "POST", MODULES, "publisher", 422, V,
         json=module_body(slug=SQL)),
    case("module: slug over 100", "POST", MODULES, "publisher", 422, V,
         json=module_body(slug=n(101, "a"))),
    case("module: no technical_name", "POST", MODULES, "publisher", 422, V,
         json=module_body(technical_name=...)),
    case("module: display_name over 200", "POST", MODULES, "publisher", 422, V,
         json=module_body(display_name=n(201))),
    case("module: short_description over 500", "POST", MODULES, "publisher", 422, V,
         json=module_body(short_description=n(501))),
    case("module: description over 50000", "POST", MODULES, "publisher", 422, V,
         json=module_body(description=n(50_001))),
    case("module: display_name a number", "POST", MODULES, "publisher", 422, V,
         json=module_body(display_name=123)),
    case("module: category_id a word", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id="tools")),
    case("module: category_id a list", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id=[1])),
    case("module: category_id 0", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id=0)),
    case("module: category_id negative", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id=-1)),
    case("module: category_id 99999999999", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id=99_999_999_999)),
    case("module: category_id true", "POST", MODULES, "publisher", 422, V,
         json=module_body(category_id=True)),
    case("module: trial_days true", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="trial", price="5.00", subscription_period="monthly",
                          trial_days=True)),
    case("module: unknown category", "POST", MODULES, "publisher", 400, "unknown_category",
         json=module_body(category_id=2_147_483_647)),
    case_w("module: inactive category", "POST", MODULES, "publisher", 400, "unknown_category",
           lambda w: {"json": module_body(category_id=w.inactive.id)}),
    case("module: price with 3 decimals", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="9.999")),
    case("module: float price with 3 decimals", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price=19.999)),
    case("module: negative price", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="-5.00")),
    case("module: price a word", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="cheap")),
    case("module: NaN price", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="NaN")),
    case("module: infinite price", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="Infinity")),
    case("module: price over 10 digits", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="123456789012")),
    case("module: price over the maximum", "POST", MODULES, "publisher", 400, "price_too_high",
         json=module_body(license_type="paid", price="100000.01")),
    case("module: free with a price", "POST", MODULES, "publisher", 400,
         "free_module_has_price", json=module_body(price="5.00")),
    case("module: free with a trial", "POST", MODULES, "publisher", 400,
         "free_module_has_billing", json=module_body(trial_days=14)),
    case("module: paid without a price", "POST", MODULES, "publisher", 400, "price_required",
         json=module_body(license_type="paid")),
    case("module: paid at zero", "POST", MODULES, "publisher", 400, "price_required",
         json=module_body(license_type="paid", price="0")),
    case("module: paid with a period", "POST", MODULES, "publisher", 400,
         "paid_module_has_billing",
         json=module_body(license_type="paid", price="5.00", subscription_period="monthly")),
    case("module: subscription without a period", "POST", MODULES, "publisher", 400,
         "subscription_period_required",
         json=module_body(license_type="subscription", price="5.00")),
    case("module: trial without trial_days", "POST", MODULES, "publisher", 400,
         "trial_days_required",
         json=module_body(license_type="trial", price="5.00", subscription_period="monthly")),
    case("module: trial of 100 days", "POST", MODULES, "publisher", 400, "trial_days_range",
         json=module_body(license_type="trial", price="5.00", subscription_period="monthly",
                          trial_days=100)),
    case("module: trial_days 366", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="trial", price="5.00", subscription_period="monthly",
                          trial_days=366)),
    case("module: fractional trial_days", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="trial", price="5.00", subscription_period="monthly",
                          trial_days=1.5)),
    case("module: lower-case currency", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="paid", price="5.00", currency="usd")),
    case("module: unsupported currency", "POST", MODULES, "publisher", 400,
         "unsupported_currency",
         json=module_body(license_type="paid", price="5.00", currency="XXX")),
    case("module: unknown license type", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="lifetime")),
    case("module: unknown visibility", "POST", MODULES, "publisher", 422, V,
         json=module_body(visibility="secret")),
    case("module: unknown period", "POST", MODULES, "publisher", 422, V,
         json=module_body(license_type="subscription", price="5.00",
                          subscription_period="weekly")),
    case("module: 21 tags", "POST", MODULES, "publisher", 422, V,
         json=module_body(tags=[f"t{i}" for i in range(21)])),
    case("module: tag over 40", "POST", MODULES, "publisher", 422, V,
         json=module_body(tags=[n(41)])),
    case("module: tags a string", "POST", MODULES, "publisher", 422, V,
         json=module_body(tags="a,b")),
    case("module: tags numbers", "POST", MODULES, "publisher", 422, V,
         json=module_body(tags=[1, 2])),
    case("module: 31 keywords", "POST", MODULES, "publisher", 422, V,
         json=module_body(keywords=[f"k{i}" for i in range(31)])),
    case("module: 21 screenshots", "POST", MODULES, "publisher", 422, V,
         json=module_body(screenshots=[{"url": f"https://example.com/{i}.png"}
                                       for i in range(21)])),
    case("module: screenshots an object", "POST", MODULES, "publisher", 422, V,
         json=module_body(screenshots={"url": "https://example.com/1.png"})),
    case("module: javascript screenshot", "POST", MODULES, "publisher", 422, V,
         json=module_body(screenshots=[{"url": "javascript:alert(1)"}])),
    case("module: screenshot unknown field", "POST", MODULES, "publisher", 422, V,
         json=module_body(screenshots=[{"url": "https://example.com/1.png", "x": 1}])),
    case("module: caption over 200", "POST", MODULES, "publisher", 422, V,
         json=module_body(screenshots=[{"url": "https://example.com/1.png",
                                        "caption": n(201)}])),
    case("module: file URL as icon", "POST", MODULES, "publisher", 422, V,
         json=module_body(icon_url="file:///etc/passwd")),
    case("module: video URL over 500", "POST", MODULES, "publisher", 422, V,
         json=module_body(video_url=LONG_URL)),
    case("module: unknown field status", "POST", MODULES, "publisher", 422, V,
         json=module_body(status="published")),
    case("module: unknown field publisher_id", "POST", MODULES, "publisher", 422, V,
         json=module_body(publisher_id=1)),
    case("module: unknown field featured", "POST", MODULES, "publisher", 422, V,
         json=module_body(featured=True)),
    case("module: NUL in display_name", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(display_name="x\x00y")),
    case("module: NUL in short_description", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(short_description="x\x00y")),
    case("module: NUL in description", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(description="x\x00y")),
    case("module: NUL in a tag", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(tags=["a\x00"])),
    case("module: NUL in a keyword", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(keywords=["a\x00"])),
    case("module: NUL in a caption", "POST", MODULES, "publisher", NUL_REFUSED, None,
         json=module_body(screenshots=[{"url": "https://example.com/1.png",
                                        "caption": "a\x00"}])),
    case("module: lone surrogate", "POST", MODULES, "publisher", 422, V, headers=JSON,
         content='{"technical_name": "hostile_module", "display_name": "\\ud800", '
                 '"short_description": "Tries things."}'),
    case("module: invalid UTF-8", "POST", MODULES, "publisher", 400, "bad_request",
         headers=JSON,
         content=b'{"technical_name": "hostile_module", "display_name": "\xff\xfe", '
                 b'"short_description": "Tries things."}'),
    case("module: 100000-deep JSON", "POST", MODULES, "publisher", 400, "bad_request",
         headers=JSON, content="[" * 100_000 + "]" * 100_000),
    case("module: 5000-digit number", "POST", MODULES, "publisher", 400, "bad_request",
         headers=JSON,
         content='{"technical_name": "hostile_module", "display_name": "x", '
                 '"short_description": "x", "category_id": ' + n(5000, "9") + "}"),
    case("module: list body", "POST", MODULES, "publisher", 422, V, json=[module_body()]),
    case("module: JSON null", "POST", MODULES, "publisher", 422, V, content="null",
         headers=JSON),
    case("module: not JSON", "POST", MODULES, "publisher", 422, V, content="{'a': 1}",
         headers=JSON),
    case("module: JSON sent as text/plain", "POST", MODULES, "publisher", 422, V,
         content=json.dumps(module_body()), headers={"content-type": "text/plain"}),
    case("module: form instead of JSON", "POST", MODULES, "publisher", 422, V,
         data=module_body()),
    case("module: empty body", "POST", MODULES, "publisher", 422, V),
    case_w("module: own technical_name again", "POST", MODULES, "publisher", 409,
           "technical_name_taken",
           lambda w: {"json": module_body(technical_name=w.draft.technical_name)}),
    case_w("module: another publisher's technical_name", "POST", MODULES, "publisher", 409,
           "technical_name_taken",
           lambda w: {"json": module_body(technical_name=w.other_module.technical_name)}),
    case_w("module: taken slug", "POST", MODULES, "publisher", 409, "slug_taken",
           lambda w: {"json": module_body(slug=w.other_module.slug)}),
    case_w("module: name that slugifies to a taken slug", "POST", MODULES, "publisher", 409,
           "slug_taken",
           lambda w: {"json": module_body(slug=...,
                                          display_name=w.pending.slug.replace("-", " "))}),
    # ---- PUT /api/v1/publisher/modules/{id} --------------------------------------------
    case_w("module update: slug taken", "PUT", DRAFT, "publisher", 409, "slug_taken",
           lambda w: {"json": {"slug": w.other_module.slug}}),
    case("module update: display_name null", "PUT", DRAFT, "publisher", 400,
         "field_required", json={"display_name": None}),
    case("module update: license_type null", "PUT", DRAFT, "publisher", 400,
         "field_required", json={"license_type": None}),
    case("module update: currency null", "PUT", DRAFT, "publisher", 400, "field_required",
         json={"currency": None}),
    case("module update: paid without a price", "PUT", DRAFT, "publisher", 400,
         "price_required", json={"license_type": "paid"}),
    case("module update: price on a free module", "PUT", DRAFT, "publisher", 400,
         "free_module_has_price", json={"price": "5.00"}),
    case("module update: price with 3 decimals", "PUT", DRAFT, "publisher", 422, V,
         json={"license_type": "paid", "price": "5.005"}),
    case("module update: unknown category", "PUT", DRAFT, "publisher", 400,
         "unknown_category", json={"category_id": 2_147_483_647}),
    case_w("module update: inactive category", "PUT", DRAFT, "publisher", 400,
           "unknown_category", lambda w: {"json": {"category_id": w.inactive.id}}),
    case("module update: display_name over 200", "PUT", DRAFT, "publisher", 422, V,
         json={"display_name": n(201)}),
    case("module update: technical_name is fixed", "PUT", DRAFT, "publisher", 422, V,
         json={"technical_name": "renamed"}),
    case("module update: unknown field status", "PUT", DRAFT, "publisher", 422, V,
         json={"status": "published"}),
    case_w("module update: unknown field publisher_id", "PUT", DRAFT, "publisher", 422, V,
           lambda w: {"json": {"publisher_id": w.other_publisher.id}}),
    case("module update: SQL as slug", "PUT", DRAFT, "publisher", 422, V, json={"slug": SQL}),
    case("module update: NUL in description", "PUT", DRAFT, "publisher", NUL_REFUSED, None,
         json={"description": "x\x00"}),
    case("module update: list body", "PUT", DRAFT, "publisher", 422, V,
         json=[{"display_name": "x"}]),
    case("module update: not JSON", "PUT", DRAFT, "publisher", 422, V, content="x",
         headers=JSON),
    case("module update: empty body", "PUT", DRAFT, "publisher", 422, V),
    case("module update: under review", "PUT", MODULES + "/{w.pending.id}", "publisher", 409,
         "module_under_review", json={"display_name": "Sneaky"}),
    case("module update: archived", "PUT", MODULES + "/{w.archived.id}", "publisher", 409,
         "module_archived", json={"display_name": "Sneaky"}),
    case("module update: slug after rejection", "PUT", MODULES + "/{w.rejected.id}",
         "publisher", 409, "slug_frozen", json={"slug": "brand-new-slug"}),
    # ---- POST /api/v1/publisher/modules/{id}/submit ------------------------------------
    case("submit: archived module", "POST", MODULES + "/{w.archived.id}/submit", "publisher",
         409, "module_archived"),
    case("submit: published module", "POST", MODULES + "/{w.published.id}/submit",
         "publisher", 409, "module_already_published"),
    # ---- admin categories --------------------------------------------------------------
    case("category: empty name", "POST", CATS, "admin", 422, V, json={"name": ""}),
    case("category: name over 100", "POST", CATS, "admin", 422, V, json={"name": n(101)}),
    case("category: name a number", "POST", CATS, "admin", 422, V, json={"name": 5}),
    case("category: SQL as slug", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "slug": SQL}),
    case("category: slug over 100", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "slug": n(101, "a")}),
    case("category: description over 2000", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "description": n(2001)}),
    case("category: icon over 50", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "icon": n(51)}),
    case("category: parent_id 0", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "parent_id": 0}),
    case("category: parent_id 99999999999", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "parent_id": 99_999_999_999}),
    case("category: parent_id a word", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "parent_id": "root"}),
    case("category: parent_id an object", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "parent_id": {"id": 1}}),
    case("category: parent_id true", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "parent_id": True}),
    case("category: unknown parent", "POST", CATS, "admin", 400, "unknown_parent",
         json={"name": "Tools", "parent_id": 2_147_483_647}),
    case("category: negative order", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "order": -1}),
    case("category: order over 10000", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "order": 10_001}),
    case("category: order a word", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "order": "first"}),
    case("category: is_active a word", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "is_active": "maybe"}),
    case("category: unknown field module_count", "POST", CATS, "admin", 422, V,
         json={"name": "Tools", "module_count": 99}),
    case("category: name without letters", "POST", CATS, "admin", 400, "slug_required",
         json={"name": "!!!"}),
    case("category: NUL in name", "POST", CATS, "admin", NUL_REFUSED, None,
         json={"name": "To\x00ols"}),
    case("category: NUL in description", "POST", CATS, "admin", NUL_REFUSED, None,
         json={"name": "Tools", "description": "x\x00"}),
    case("category: list body", "POST", CATS, "admin", 422, V, json=[{"name": "Tools"}]),
    case("category: not JSON", "POST", CATS, "admin", 422, V, content="name=Tools",
         headers=JSON),
    case("category: empty body", "POST", CATS, "admin", 422, V),
    case_w("category: taken slug", "POST", CATS, "admin", 409, "slug_taken",
           lambda w: {"json": {"name": "Tools", "slug": w.root.slug}}),
    case_w("category: name that slugifies to a taken slug", "POST", CATS, "admin", 409,
           "slug_taken", lambda w: {"json": {"name": w.root.slug.upper()}}),
    case("category update: parent is itself", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "category_cycle", json={"parent_id": "{w.root.id}"}),
    case("category update: parent is its child", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "category_cycle", json={"parent_id": "{w.child.id}"}),
    case("category update: parent is its grandchild", "PUT", CATS + "/{w.root.id}", "admin",
         400, "category_cycle", json={"parent_id": "{w.grandchild.id}"}),
    case("category update: unknown parent", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "unknown_parent", json={"parent_id": 2_147_483_647}),
    case("category update: name null", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "field_required", json={"name": None}),
    case("category update: slug null", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "field_required", json={"slug": None}),
    case("category update: is_active null", "PUT", CATS + "/{w.root.id}", "admin", 400,
         "field_required", json={"is_active": None}),
    case("category update: slug taken", "PUT", CATS + "/{w.root.id}", "admin", 409,
         "slug_taken", json={"slug": "{w.child.slug}"}),
    case("category update: SQL as slug", "PUT", CATS + "/{w.root.id}", "admin", 422, V,
         json={"slug": SQL}),
    case("category update: name over 100", "PUT", CATS + "/{w.root.id}", "admin", 422, V,
         json={"name": n(101)}),
    case("category update: unknown field id", "PUT", CATS + "/{w.root.id}", "admin", 422, V,
         json={"id": 1}),
    case("category update: NUL in name", "PUT", CATS + "/{w.root.id}", "admin", NUL_REFUSED,
         None, json={"name": "x\x00"}),
    case("category update: list body", "PUT", CATS + "/{w.root.id}", "admin", 422, V,
         json=[]),
    case("category update: empty body", "PUT", CATS + "/{w.root.id}", "admin", 422, V),
    case("category delete: has a subcategory", "DELETE", CATS + "/{w.root.id}", "admin", 409,
         "category_in_use"),
    case("category delete: has a module", "DELETE", CATS + "/{w.used.id}", "admin", 409,
         "category_in_use"),
    # ---- approve / reject (against a really pending module, no worker) ----------------
    case("approve: note over 2000", "POST", APPROVE, "admin", 422, V, json={"note": n(2001)}),
    case("approve: note a number", "POST", APPROVE, "admin", 422, V, json={"note": 5}),
    case("approve: unknown field", "POST", APPROVE, "admin", 422, V,
         json={"note": "ok", "status": "published"}),
    case("approve: list body", "POST", APPROVE, "admin", 422, V, json=["ok"]),
    case("approve: not JSON", "POST", APPROVE, "admin", 422, V, content="ok", headers=JSON),
    case("approve: NUL in note", "POST", APPROVE, "admin", NUL_REFUSED, None,
         json={"note": "fine\x00"}),
    case("approve: a draft", "POST", ADMIN + "/modules/{w.draft.id}/approve", "admin", 409,
         "module_not_pending", json={"note": "ok"}),
    case("reject: no reason", "POST", REJECT, "admin", 422, V, json={}),
    case("reject: empty reason", "POST", REJECT, "admin", 422, V, json={"reason": ""}),
    case("reject: blank reason", "POST", REJECT, "admin", 422, V, json={"reason": "   "}),
    case("reject: reason over 2000", "POST", REJECT, "admin", 422, V,
         json={"reason": n(2001)}),
    case("reject: reason a list", "POST", REJECT, "admin", 422, V, json={"reason": ["bad"]}),
    case("reject: unknown field", "POST", REJECT, "admin", 422, V,
         json={"reason": "bad", "admin_role": "admin"}),
    case("reject: not JSON", "POST", REJECT, "admin", 422, V, content="bad", headers=JSON),
    case("reject: empty body", "POST", REJECT, "admin", 422, V),
    case("reject: NUL in reason", "POST", REJECT, "admin", NUL_REFUSED, None,
         json={"reason": "bad\x00"}),
    case("reject: a published module", "POST", ADMIN + "/modules/{w.published.id}/reject",
         "admin", 409, "module_not_pending", json={"reason": "bad"}),
    # ---- wrong method ------------------------------------------------------------------
    case("wrong method: PATCH a module", "PATCH", DRAFT, "publisher", 405, "method_not_allowed",
         json={"display_name": "x"}),
    case("wrong method: PUT the pending queue", "PUT", ADMIN + "/pending", "admin", 405,
         "method_not_allowed", json={}),
]
# fmt: on


def _resolve(value, world: World):
    """Placeholders such as "{w.root.id}" inside a JSON payload become the world's ids."""
    if isinstance(value, str) and value.startswith("{w.") and value.endswith("}"):
        resolved = value.format(w=world)
        return int(resolved) if resolved.isdigit() else resolved
    if isinstance(value, dict):
        return {k: _resolve(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, world) for v in value]
    return value


@pytest.mark.parametrize("hostile", CASES)
async def test_hostile_input_is_refused_and_changes_nothing(
    api, db, world, temporal_dev, hostile: Case
):
    request = hostile.request(world) if callable(hostile.request) else dict(hostile.request)
    if "json" in request:
        request["json"] = _resolve(request["json"], world)
    before = await snapshot(db)

    response = await send(
        api,
        temporal_dev,
        world,
        hostile.method,
        hostile.path.format(w=world),
        hostile.caller,
        **request,
    )

    assert_refused(response, hostile.status, hostile.error)
    assert await snapshot(db) == before, "a refused request changed the database"


# --- ids in paths and numbers in query strings ------------------------------------------

BAD_IDS = ["0", "-1", "99999999999", "1.5", "abc", "%00", "1%20OR%201=1"]
ABSENT_ID = "2147483647"  # the largest id the column can hold: well-formed, but no such row

ID_ENDPOINTS = [
    # method, path ({id} is replaced), caller, request, error for a well-formed absent id
    ("DELETE", TOKENS + "/{id}", "publisher", {}, "token_not_found"),
    ("POST", ACCOUNTS + "/{id}/disable", "admin", {"json": {"reason": "x"}}, "user_not_found"),
    ("POST", ACCOUNTS + "/{id}/enable", "admin", {"json": {}}, "user_not_found"),
    ("GET", MODULES + "/{id}", "publisher", {}, "module_not_found"),
    ("PUT", MODULES + "/{id}", "publisher", {"json": {"display_name": "x"}}, "module_not_found"),
    ("DELETE", MODULES + "/{id}", "publisher", {}, "module_not_found"),
    ("POST", MODULES + "/{id}/submit", "publisher", {}, "module_not_found"),
    ("GET", MODULES + "/{id}/review", "publisher", {}, "module_not_found"),
    ("PUT", CATS + "/{id}", "admin", {"json": {"name": "x"}}, "category_not_found"),
    ("DELETE", CATS + "/{id}", "admin", {}, "category_not_found"),
    (
        "POST",
        ADMIN + "/modules/{id}/approve",
        "admin",
        {"json": {"note": "ok"}},
        "module_not_found",
    ),
    (
        "POST",
        ADMIN + "/modules/{id}/reject",
        "admin",
        {"json": {"reason": "no"}},
        "module_not_found",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "caller", "request_", "absent_error"),
    [pytest.param(*e, id=f"{e[0]} {e[1]}") for e in ID_ENDPOINTS],
)
async def test_malformed_and_absent_ids_in_paths(
    api, db, world, temporal_dev, method, path, caller, request_, absent_error
):
    before = await snapshot(db)
    for bad in BAD_IDS:
        url = path.replace("{id}", bad)
        response = await send(api, temporal_dev, world, method, url, caller, **request_)
        assert response.status_code == 422, f"{method} {url}: {response.text[:300]}"
        assert response.json()["error"] == V, f"{method} {url}: {response.text[:300]}"
    url = path.replace("{id}", ABSENT_ID)
    response = await send(api, temporal_dev, world, method, url, caller, **request_)
    assert_refused(response, 404, absent_error)
    assert await snapshot(db) == before


BAD_PAGING = [
    "limit=0",
    "limit=101",
    "limit=abc",
    "limit=99999999999999999999",
    "limit=1.5",
    "offset=-1",
    "offset=1000001",
    "offset=%00",
    "limit=10&limit=abc",
]


@pytest.mark.parametrize(
    ("path", "caller", "extra"),
    [
        pytest.param(
            MODULES,
            "publisher",
            ["status=bogus", "status=PUBLISHED", f"status={SQL}"],
            id="GET /publisher/modules",
        ),
        pytest.param(ADMIN + "/pending", "admin", [], id="GET /admin/marketplace/pending"),
    ],
)
async def test_malformed_paging_and_filters(api, db, world, temporal_dev, path, caller, extra):
    before = await snapshot(db)
    for query in BAD_PAGING + extra:
        response = await send(api, temporal_dev, world, "GET", f"{path}?{query}", caller)
        assert response.status_code == 422, f"?{query}: {response.text[:300]}"
        assert response.json()["error"] == V, f"?{query}: {response.text[:300]}"
    assert await snapshot(db) == before


# --- text that only looks dangerous is stored as it is -----------------------------------

LITERALS = [
    SQL,
    "Robert'); DROP TABLE marketplace_modules;--",
    "1 OR 1=1; SELECT pg_sleep(10); --",
    "Módulo Ñandú 🚀 — 日本語のモジュール",
    "e\u0301 and \u200b zero width and \u200c joiners",  # bidi controls: tests/test_text_fields.py
    "<script>alert(1)</script>",
    "%s %d {0} ${jndi:ldap://x}",
]


@pytest.mark.parametrize("literal", LITERALS)
async def test_text_that_looks_dangerous_is_stored_literally(api, db, world, literal):
    consumer, publisher = world.callers["consumer"], world.callers["publisher"]

    account = await api.request(
        "POST",
        REGISTER,
        json={"email": "literal@example.com", "password": PASSWORD, "full_name": literal},
    )
    assert account.status_code == 201, account.text
    assert account.json()["full_name"] == literal

    registered = await api.request(
        "POST",
        PUB_REGISTER,
        as_user=consumer,
        json={"display_name": literal, "slug": "literal-publisher", "bio": literal},
    )
    assert registered.status_code == 201, registered.text
    profile = await api.request("GET", PROFILE, as_user=consumer)
    assert profile.json()["display_name"] == literal and profile.json()["bio"] == literal

    created = await api.request(
        "POST",
        MODULES,
        as_user=publisher,
        json=module_body(display_name=literal, short_description=literal, description=literal),
    )
    assert created.status_code == 201, created.text
    read = await api.request("GET", f"{MODULES}/{created.json()['id']}", as_user=publisher)
    for field in ("display_name", "short_description", "description"):
        assert read.json()[field] == literal

    category = await api.request(
        "POST",
        CATS,
        as_user=world.callers["admin"],
        json={"name": literal[:100], "slug": "literal-category", "description": literal},
    )
    assert category.status_code == 201, category.text
    tree = await api.request("GET", "/api/v1/marketplace/categories")
    stored = [c for c in tree.json() if c["id"] == category.json()["id"]]
    assert stored and stored[0]["name"] == literal[:100] and stored[0]["description"] == literal

    async with db() as session:  # and every table is still there, with its rows
        counts = {
            table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("users", "marketplace_modules", "marketplace_categories")
        }
    assert counts == {"users": 5, "marketplace_modules": 7, "marketplace_categories": 6}


async def test_a_name_made_of_sql_gets_a_clean_slug(api, world):
    response = await api.request(
        "POST", PUB_REGISTER, as_user=world.callers["consumer"], json={"display_name": SQL}
    )
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == SQL
    assert response.json()["slug"] == "drop-table-users"


async def test_an_oversized_body_is_refused_before_it_is_read(api, make):
    user, _ = await make.publisher()
    huge = b'{"display_name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = await api.request(
        "POST",
        "/api/v1/publisher/modules",
        as_user=user,
        content=huge,
        headers={"Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    streamed = await api.request(
        "POST",
        "/api/v1/auth/register",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    listed = await api.request("GET", "/api/v1/publisher/modules", as_user=user)
    assert listed.json()["total"] == 0
