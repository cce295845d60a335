"""Who may call what: every endpoint the app exposes, asked by each of five callers.

The table below is the authorization policy, one row per endpoint and one column per
caller. A cell is either an allowed outcome (a 2xx) or a refusal (exact status and
``error`` code, and nothing in the database changed). A route added to the app without a
row here fails ``test_every_exposed_route_is_in_the_matrix``.

This module asks every refused cell. The allowed cells are asked beside each domain's API
tests, in the ``test_<domain>_authorization`` modules listed in ``EFFECTS``, which check
what each allowed call did; ``test_every_allowed_cell_has_a_check`` makes sure that each
allowed cell is asked by exactly one of them. The world every cell runs in (built once per
module, each cell in a savepoint of it) and the callers are described in
``tests.authorization_world``.
"""

import importlib

import pytest

from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    ACC,
    ANON,
    AP,
    APO,
    ARV,
    AU,
    AUTHOR,
    CART,
    CELL_ARGS,
    CO,
    CP,
    DL,
    EMPTY,
    FETCH,
    FILES,
    ISPUB,
    NOCART,
    NOGATE,
    NOLIC,
    NOLREV,
    NOMOD,
    NOORD,
    NOPAY,
    NOPUB,
    NOREV,
    NOTOK,
    OK200,
    OK201,
    OK202,
    OK204,
    OK307,
    ORD,
    OWNREV,
    PA,
    PO,
    PR,
    REV,
    ROLES,
    RR,
    RV,
    SCOPE,
    SUB,
    UNVER,
    VERIF,
    WH,
    WORKER,
    A,
    C,
    D,
    L,
    M,
    Outcome,
    P,
    V,
    cells,
)

OK302 = Outcome(302)  # / to /marketplace
PAGE = OK200  # the storefront's index.html, the same static file for everyone

# fmt: off
MATRIX: dict[tuple[str, str], tuple[Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    # endpoint                                        anonymous consumer other    owner   admin
    ("GET",    "/openapi.json"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
    # the storefront (api/web_app.py): a static app shell; what it shows, the API decides
    ("GET",    "/"):                                  (OK302,  OK302,  OK302,  OK302,  OK302),
    ("GET",    "/assets/{name}"):                     (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/marketplace"):                       (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/marketplace/{rest:path}"):           (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/account"):                           (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/account/{rest:path}"):               (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/publisher"):                         (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/publisher/{rest:path}"):             (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/admin"):                             (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/admin/{rest:path}"):                 (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/signin"):                            (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/register"):                          (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/signout"):                           (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/verify-email"):                      (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/reset-password"):                    (PAGE,   PAGE,   PAGE,   PAGE,   PAGE),
    ("GET",    "/docs"):                              (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/docs/oauth2-redirect"):              (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/redoc"):                             (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/health"):                            (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    "/ready"):                             (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/register"):                     (OK201,  OK201,  OK201,  OK201,  OK201),
    ("POST",   AU + "/token"):                        (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    AU + "/me"):                           (ANON,   OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/tokens"):                       (ANON,   OK201,  OK201,  OK201,  OK201),
    ("GET",    AU + "/tokens"):                       (ANON,   OK200,  OK200,  OK200,  OK200),
    ("DELETE", AU + "/tokens/{token_id}"):            (ANON,   NOTOK,  NOTOK,  OK204,  NOTOK),
    # the account's lifecycle: a mailed code is the credential of its route, whoever sends
    # it (the consumer's verification, the owner's reset); only the consumer is unverified
    ("POST",   AU + "/verify-email"):                 (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/verify-email/resend"):          (ANON,   OK202,  VERIF,  VERIF,  VERIF),
    ("POST",   AU + "/password"):                     (ANON,   OK200,  OK200,  OK200,  OK200),
    ("POST",   AU + "/password-reset"):               (OK202,  OK202,  OK202,  OK202,  OK202),
    ("POST",   AU + "/password-reset/confirm"):       (OK204,  OK204,  OK204,  OK204,  OK204),
    ("POST",   P + "/register"):                      (ANON,   UNVER,  ISPUB,  ISPUB,  OK201),
    ("GET",    P + "/profile"):                       (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("PUT",    P + "/profile"):                       (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("POST",   P + "/verify"):                        (ANON,   SCOPE,  OK202,  OK202,  NOPUB),
    ("GET",    M):                                    (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("POST",   M):                                    (ANON,   SCOPE,  OK201,  OK201,  NOPUB),
    ("GET",    M + "/{module_id}"):                   (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("PUT",    M + "/{module_id}"):                   (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("DELETE", M + "/{module_id}"):                   (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("POST",   M + "/{module_id}/submit"):            (ANON,   SCOPE,  NOMOD,  OK202,  NOPUB),
    ("GET",    M + "/{module_id}/review"):            (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("GET",    M + "/{module_id}/revision"):          (ANON,   SCOPE,  NOMOD,  NOLREV, NOPUB),
    # the draft's versions: {version} is its released 0.9.0; the upload sends the sample 1.0.0
    ("POST",   V):                                    (ANON,   SCOPE,  NOMOD,  OK202,  NOPUB),
    ("GET",    V):                                    (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("GET",    V + "/{version}"):                     (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("PUT",    V + "/{version}"):                     (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("DELETE", V + "/{version}"):                     (ANON,   SCOPE,  NOMOD,  OK200,  NOPUB),
    ("GET",    "/api/v1/marketplace/categories"):     (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    C):                                    (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   C):                                    (ANON,   SCOPE,  SCOPE,  SCOPE,  OK201),
    ("PUT",    C + "/{category_id}"):                 (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("DELETE", C + "/{category_id}"):                 (ANON,   SCOPE,  SCOPE,  SCOPE,  OK204),
    ("GET",    A + "/pending"):                       (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/modules/{module_id}/approve"):   (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    ("POST",   A + "/modules/{module_id}/reject"):    (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    ("GET",    A + "/pending-versions"):              (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/versions/{version_id}/approve"): (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    ("POST",   A + "/versions/{version_id}/reject"):  (ANON,   SCOPE,  SCOPE,  SCOPE,  WORKER),
    # listing revisions: {revision_id} is the owner's released module's, pending
    ("GET",    A + "/pending-revisions"):             (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/revisions/{revision_id}/approve"): (ANON, SCOPE,  SCOPE,  SCOPE,  WORKER),
    ("POST",   A + "/revisions/{revision_id}/reject"):  (ANON, SCOPE,  SCOPE,  SCOPE,  WORKER),
    # the public catalogue; {slug} is the owner's *private* module, or the owner's profile
    ("GET",    D + "/modules"):                       (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/modules/{slug}"):                (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/modules/{slug}/versions"):       (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/modules/{slug}/viewer"):         (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/search"):                        (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/featured"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/trending"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/publishers/{slug}"):             (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/publishers/{slug}/modules"):     (OK200,  OK200,  OK200,  OK200,  OK200),
    # downloads of the owner's released module (free, public): anyone's; the link as JSON
    # with ?redirect=false for an exact version. On the unpublished draft: see below
    ("GET",    DL):                                   (OK307,  OK307,  OK307,  OK307,  OK307),
    ("GET",    DL + "/{version}"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
    # the signed link is the permission, whoever holds it (forged links: in the check)
    ("GET",    FILES):                                (OK200,  OK200,  OK200,  OK200,  OK200),
    # our download link (the JSON answer's url): following it is the download, whoever
    # holds it; counted for whom it was made for, then a redirect to the file
    ("GET",    FETCH):                                (OK307,  OK307,  OK307,  OK307,  OK307),
    ("GET",    D + "/signing-keys"):                  (OK200,  OK200,  OK200,  OK200,  OK200),
    # licenses: {key} is the owner's (2 seats, "inst-1" holds one), seen by its owner only
    # (the list: one's own licenses); for what an installed instance calls, the key is the
    # credential, whoever sends it
    ("GET",    L):                                    (ANON,   OK200,  OK200,  OK200,  OK200),
    ("GET",    L + "/public-key"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    L + "/key-endorsements"):              (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    L + "/{key}"):                         (ANON,   NOLIC,  NOLIC,  OK200,  NOLIC),
    ("GET",    L + "/{key}/offline"):                 (ANON,   NOLIC,  NOLIC,  OK200,  NOLIC),
    ("POST",   L + "/{key}/verify"):                  (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   L + "/{key}/activate"):                (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   L + "/{key}/deactivate"):              (OK200,  OK200,  OK200,  OK200,  OK200),
    # carts: one's own; the owner's holds ``carted``, "add" is of ``for_sale`` (both paid,
    # a third publisher's) and {item_id} is the owner's line
    ("GET",    CART):                                 (ANON,   OK200,  OK200,  OK200,  OK200),
    ("POST",   CART + "/add"):                        (ANON,   OK200,  OK200,  OK200,  OK200),
    ("DELETE", CART + "/{item_id}"):                  (ANON,   NOCART, NOCART, OK204,  NOCART),
    # checkout of one's own cart (only the owner's holds a line); confirming is of the
    # owner's order, settled, so no workflow is asked
    ("POST",   CO):                                   (ANON,   EMPTY,  EMPTY,  OK202,  EMPTY),
    ("POST",   CO + "/confirm"):                      (ANON,   NOORD,  NOORD,  OK200,  NOORD),
    # orders: one's own list; {order_id} is the owner's completed order, which admins see
    # (and refund) as well; a refund starts its workflow. Cancelling a pending payment is
    # the buyer's alone (admins too find no such order among theirs); the cell's order was
    # cancelled before, so the owner's cancel answers it and asks no workflow
    ("GET",    ORD):                                  (ANON,   OK200,  OK200,  OK200,  OK200),
    ("GET",    ORD + "/{order_id}"):                  (ANON,   NOORD,  NOORD,  OK200,  OK200),
    ("GET",    ORD + "/{order_id}/invoice"):          (ANON,   NOORD,  NOORD,  OK200,  OK200),
    ("POST",   ORD + "/{order_id}/refund"):           (ANON,   NOORD,  NOORD,  OK202,  OK202),
    ("POST",   ORD + "/{order_id}/cancel"):           (ANON,   NOORD,  NOORD,  OK200,  NOORD),
    # subscriptions: a trial of ``trial_offer`` is anyone's who signs in; {key} is the
    # owner's subscription license, its own like any license; cancel/resume by a worker
    ("POST",   D + "/modules/{slug}/trial"):          (ANON,   OK201,  OK201,  OK201,  OK201),
    ("GET",    SUB):                                  (ANON,   NOLIC,  NOLIC,  OK200,  NOLIC),
    ("POST",   SUB + "/cancel"):                      (ANON,   NOLIC,  NOLIC,  WORKER, NOLIC),
    ("POST",   SUB + "/resume"):                      (ANON,   NOLIC,  NOLIC,  WORKER, NOLIC),
    # webhooks: no sign-in (the gateway verifies), but none is enabled by default
    ("POST",   WH + "/stripe"):                       (NOGATE, NOGATE, NOGATE, NOGATE, NOGATE),
    ("POST",   WH + "/paypal"):                       (NOGATE, NOGATE, NOGATE, NOGATE, NOGATE),
    # coupons: {coupon_id} is an active coupon
    ("POST",   CP):                                   (ANON,   SCOPE,  SCOPE,  SCOPE,  OK201),
    ("GET",    CP):                                   (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("GET",    CP + "/{coupon_id}"):                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("PUT",    CP + "/{coupon_id}"):                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("DELETE", CP + "/{coupon_id}"):                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK204),
    # reviews: reading is of ``listed`` (the owner's review; the consumer's, hidden), writing
    # of ``subscribed``; {review_id} is the owner's review, with the consumer's vote
    ("GET",    REV):                                  (OK200,  OK200,  OK200,  OK200,  OK200),
    ("POST",   REV):                                  (ANON,   OK201,  OK201,  OK201,  OK201),
    ("PUT",    RV):                                   (ANON,   AUTHOR, AUTHOR, OK200,  AUTHOR),
    ("DELETE", RV):                                   (ANON,   AUTHOR, AUTHOR, OK204,  OK204),
    ("POST",   RV + "/vote"):                         (ANON,   OK200,  OK200,  OWNREV, OK200),
    ("DELETE", RV + "/vote"):                         (ANON,   OK200,  OK200,  OK200,  OK200),
    ("POST",   RV + "/report"):                       (ANON,   OK201,  OK201,  OWNREV, OK201),
    # the publisher's side: {review_id} is ``answered``, the other publisher's review of the
    # owner's released module
    ("GET",    P + "/reviews"):                       (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("PUT",    PR):                                   (ANON,   SCOPE,  NOREV,  OK200,  NOPUB),
    ("DELETE", PR):                                   (ANON,   SCOPE,  NOREV,  OK204,  NOPUB),
    # moderation: hiding is of the owner's review, restoring of the consumer's hidden one;
    # {report_id} is the pending report of the owner's review
    ("GET",    RR):                                   (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   ARV + "/hide"):                        (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   ARV + "/restore"):                     (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   RR + "/{report_id}/resolve"):          (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   RR + "/{report_id}/dismiss"):          (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    # analytics, of a custom period (last month and this one): one's own, or the platform's
    ("GET",    PA + "/overview"):                     (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    PA + "/downloads"):                    (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    PA + "/revenue"):                      (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    PA + "/reviews"):                      (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    A + "/analytics"):                     (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    # publishers, settings and featuring: {publisher_id} is the owner's publisher (``banned``
    # to reinstate); featuring is of the owner's released module, unfeaturing of the private one
    ("GET",    AP):                                   (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("GET",    AP + "/{publisher_id}"):               (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   AP + "/{publisher_id}/verify"):        (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   AP + "/{publisher_id}/suspend"):       (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   AP + "/{publisher_id}/reinstate"):     (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    # accounts: the consumer is disabled, ``disabled`` enabled again
    ("POST",   ACC + "/{user_id}/disable"):           (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   ACC + "/{user_id}/enable"):            (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("GET",    A + "/settings"):                      (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("PUT",    A + "/settings"):                      (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/modules/{module_id}/feature"):   (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   A + "/modules/{module_id}/unfeature"): (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    # payouts: {payout_id} is the owner's of last month (paying the sale), which PayPal
    # refused; a run starts the workflow of RUN_PERIOD, a retry the owner's payout workflow
    ("GET",    PO):                                   (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    PO + "/{payout_id}"):                  (ANON,   SCOPE,  NOPAY,  OK200,  NOPUB),
    ("GET",    PO + "/settings"):                     (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("POST",   PO + "/settings"):                     (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    PO + "/earnings.csv"):                 (ANON,   SCOPE,  OK200,  OK200,  NOPUB),
    ("GET",    APO):                                  (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("GET",    APO + "/{payout_id}"):                 (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   APO + "/runs"):                        (ANON,   SCOPE,  SCOPE,  SCOPE,  OK202),
    ("POST",   APO + "/{payout_id}/mark-paid"):       (ANON,   SCOPE,  SCOPE,  SCOPE,  OK200),
    ("POST",   APO + "/{payout_id}/retry"):           (ANON,   SCOPE,  SCOPE,  SCOPE,  OK202),
}

# The download routes again, on the owner's unpublished draft (its 0.9.0 was released, the
# module was not): as absent as a module that does not exist, except to its owner and admins.
UNPUBLISHED_DOWNLOADS: dict[tuple[str, str], tuple[Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    ("GET",    DL):                                   (NOMOD,  NOMOD,  NOMOD,  OK307,  OK307),
    ("GET",    DL + "/{version}"):                    (NOMOD,  NOMOD,  NOMOD,  OK200,  OK200),
}
# fmt: on


# --- the refused cells ------------------------------------------------------------------


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=False)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected)


@pytest.mark.parametrize(CELL_ARGS, list(cells(UNPUBLISHED_DOWNLOADS, allowed=False)))
async def test_download_of_an_unpublished_module(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, downloads_of="draft")


# --- the matrix covers the app, and every allowed cell is asked somewhere ---------------

EFFECTS = (
    "tests.test_health_authorization",
    "tests.test_auth_authorization",
    "tests.test_publisher_authorization",
    "tests.test_categories_authorization",
    "tests.test_module_review_authorization",
    "tests.test_discovery_authorization",
    "tests.test_downloads_authorization",
    "tests.test_licenses_authorization",
    "tests.test_cart_authorization",
    "tests.test_checkout_authorization",
    "tests.test_subscriptions_authorization",
    "tests.test_coupons_authorization",
    "tests.test_reviews_authorization",
    "tests.test_review_moderation_authorization",
    "tests.test_analytics_publisher_authorization",
    "tests.test_analytics_platform_authorization",
    "tests.test_admin_publishers_authorization",
    "tests.test_platform_settings_authorization",
    "tests.test_featuring_authorization",
    "tests.test_payouts_authorization",
)
"""The modules that ask the allowed cells (each has ``CHECKS``, the effect of each of its
routes, and may have ``WORKER_ROUTES``, the path prefixes of the cells its worker tests
ask)."""

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
    """Every allowed cell is asked, with its check, by exactly one domain module; those a
    worker decides, by a worker test."""
    assert UNPUBLISHED_DOWNLOADS.keys() <= MATRIX.keys()
    checked: dict[tuple[str, str], str] = {}
    decided: list[str] = []
    for name in EFFECTS:
        module = importlib.import_module(name)
        for route in module.CHECKS:
            assert route not in checked, f"{route} is checked in {checked[route]} and {name}"
            checked[route] = name
        decided.extend(getattr(module, "WORKER_ROUTES", ()))
    allowed = set()
    for (method, path), outcomes in [*MATRIX.items(), *UNPUBLISHED_DOWNLOADS.items()]:
        assert len(outcomes) == len(ROLES)
        if any(o.allowed and not o.via_worker for o in outcomes):
            allowed.add((method, path))
            assert (method, path) in checked, f"no check for {method} {path}"
        workers = any(o.via_worker for o in outcomes)
        assert not workers or path.startswith(tuple(decided)), (
            f"no worker test runs {method} {path}"
        )
    assert checked.keys() <= allowed, f"checks of no allowed cell: {checked.keys() - allowed}"
