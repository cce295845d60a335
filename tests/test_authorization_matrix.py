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

Version endpoints act on the draft's released 0.9.0; an upload sends the draft the sample
package (a new 1.0.0) and its ingestion is started, then ended by the check. Downloads
are of the owner's released module (published, public, free: anyone's to download); the
same routes on the unpublished draft are a table of their own, ``UNPUBLISHED_DOWNLOADS``.
The files route is authorized by its signed link, not by the caller: every caller sends
a valid link, and the check shows that a tampered one is refused to that same caller.
Approve/reject of a version need a version that an ingestion workflow holds for manual
review: a real worker, committed data, and a vulnerability service that is down.

License endpoints act on the owner's license (a publisher can buy, too) for the listed
module of a third publisher: two seats, one held by instance "inst-1". Seeing a license
takes being its owner, as with tokens; what an installed instance calls (verify, activate,
deactivate) has the key as its credential, so every caller who sends the key is allowed.

Cart endpoints: every signed-in caller has a cart of their own. The owner's holds one line,
for a paid module of the third publisher (``carted``); everyone else's is empty. Adding puts
another paid module of that publisher (``for_sale``, licensed to nobody) in the caller's
cart; removing is of the owner's line, which another account's cart does not have.

Checkout turns the caller's own cart into an order, so only the owner has one to check out
(``carted``); for everyone else it is ``empty_cart``, and the owner's cart is untouched. The
owner's order starts its checkout workflow, which no worker runs here: the check sees it
started, then ends it. Workflow ids outlive the rolled-back rows, so order numbers are new
in every world (as checkout makes them).

Order endpoints act on the owner's one order: completed, paid two days ago (inside the
refund window), for a monthly subscription to a third publisher's module (``subscribed``),
whose license and billing row it issued. The list is one's own orders (an admin has none);
the order, its invoice and a refund are its buyer's and any admin's, and as absent as an
order that does not exist to everyone else. A refund is started, not done: its workflow
(no worker) is seen started with who asked, then ended. Confirming is the buyer's alone; on
the settled order it answers with the order and asks no workflow.

Subscription endpoints act on the owner's subscription license (the one that order issued):
seen, cancelled and resumed by its owner only, like any license. Cancel and resume are
updates that the subscription workflow answers, so they run on committed data with a real
worker (``via_worker``), the workflow under a license id no truncation hands out again. A
trial is of ``trial_offer`` (a third publisher's, monthly, 14 days free, licensed to
nobody): any signed-in caller may start one; it starts the subscription workflow, which the
check ends and deletes (its id is built from a row id, which a truncation hands out again).

Coupons are the admins'; the cells act on one active coupon. Gateway webhooks take no
sign-in (the gateway verifies a delivery), and with the default settings no gateway that
sends them is enabled: everyone, signed in or not, gets ``gateway_unavailable``.

Review endpoints act on the owner's review (a publisher may review other publishers'
modules) of ``listed``: 4 stars, one helpful vote (the consumer's), one pending report (by
the shop's owner, who is no caller). ``listed`` has a second review, the consumer's, hidden
by a moderator: never listed, never counted. Anyone reads the reviews; any signed-in
caller writes one, of ``subscribed`` (the owner as a verified buyer). Only its author
rewrites a review; its author or an admin deletes it. Everyone but its author votes on it
and reports it; taking back one's vote is anyone's, and touches only one's own.

The publisher's side of reviews acts on ``answered``: the other publisher's review of the
owner's released module, which the owner answered yesterday. Only the module's publisher
sees it and answers it (its author, a publisher too, finds no such review there).
Moderation is the admins': the report queue holds the one report; hiding is of the owner's
review (which resolves the report), restoring of the hidden one; the report is resolved
(hiding the review too) or dismissed.

Analytics endpoints are asked for a custom period, from the first of last month to today:
the owner's figures (4 modules, 2 published; the private module's download today, its sale
to the shop's owner last month, 20.00 USD gross, and ``answered``) to the owner, nothing
to the other publisher, who asking for one of the owner's modules gets
``module_not_found``. The platform's figures are the admins'.

Publisher management, platform settings and featuring are the admins': {publisher_id} is
the owner's publisher (verified by nobody yet), or, to be reinstated, ``banned``, a fourth
publisher suspended for spam. Featuring is of the owner's released module, unfeaturing of
the owner's private one (featured).

Payout endpoints act on the owner's payout of last month, which paid out the sale's ledger
entry (14.00 USD net) and which PayPal refused. A publisher's history, payouts, earnings
report and payout settings (the owner's: PayPal) are its own: the other publisher's
history and report are empty, the owner's payout as absent to it as none. The admins see
every payout, mark the failed one paid by hand (its publisher is mailed) and retry it,
which starts its payout workflow; a run is of ``RUN_PERIOD``, a month no ledger entry is
of, and starts that month's workflow. No worker runs either: the check sees it started,
then ends and deletes it (a payout workflow's id is built from a row id, which a
truncation hands out again).
"""

import asyncio
import contextlib
import csv
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO, StringIO
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError

from domain import processes
from domain.access import Role
from domain.checkout import RefundInput, add_period, new_order_number
from domain.licensing import (
    OfflineLicense,
    VerificationAnswer,
    license_key_hash,
    mask_license_key,
    new_license_key,
    normalize_license_key,
)
from domain.modules import ModuleStatus, SubscriptionPeriod
from domain.payouts import EARNINGS_CSV_COLUMNS, MonthlyPayoutsInput
from domain.platform_settings import PARSERS
from integrations.license_signing import LicenseKeyRing, load_public_key, verify_document
from integrations.license_signing import key_id as license_key_id
from integrations.license_vault import LicenseVault
from integrations.signing import verify_with_public_pem
from integrations.storage import LocalStorage, storage_key
from models import Base, ModuleDownload, ModuleVersion
from models.analytics import PublisherPayout
from models.commerce import (
    CartItem,
    Coupon,
    EarningEntry,
    License,
    LicenseActivation,
    Order,
    Subscription,
)
from models.module import MarketplaceCategory, MarketplaceModule
from models.platform import AuditLogEntry, NotificationOutbox, PlatformSetting
from models.publisher import Publisher
from models.review import ModuleReview, ReviewReport, ReviewVote
from models.user import ApiToken, User
from services import credentials as security
from services import subscriptions as subscription_service
from tests import archives
from tests.conftest import Api
from tests.factories import PASSWORD, unique
from tests.helpers import front_door
from tests.osv_fake import osv_fake
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow

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
OK307 = Outcome(307)  # a redirect to a short-lived signed link
WORKER = Outcome(200, via_worker=True)  # 200, with a worker: a module or version decided, or
# a subscription cancelled or resumed

# Refused: the status and the error code, and the database is left as it was.
ANON = Outcome(401, "not_authenticated")
SCOPE = Outcome(403, "insufficient_scope")
NOPUB = Outcome(403, "publisher_profile_required")
NOMOD = Outcome(404, "module_not_found")  # another publisher's module is as good as absent
NOTOK = Outcome(404, "token_not_found")  # another account's token likewise
NOLIC = Outcome(404, "license_not_found")  # another account's license likewise
NOCART = Outcome(404, "cart_item_not_found")  # another account's cart line likewise
NOORD = Outcome(404, "order_not_found")  # another account's order likewise (admins see all)
EMPTY = Outcome(400, "empty_cart")  # checkout is of one's own cart: only the owner's has a line
NOGATE = Outcome(400, "gateway_unavailable")  # no webhook-sending gateway is enabled
ISPUB = Outcome(409, "already_publisher")
AUTHOR = Outcome(403, "not_review_author")  # a published review is its author's to change
OWNREV = Outcome(403, "own_review")  # nobody votes on or reports their own review
NOREV = Outcome(404, "review_not_found")  # a review of another's module is as good as absent
NOPAY = Outcome(404, "payout_not_found")  # another publisher's payout likewise

AU = "/api/v1/auth"
P = "/api/v1/publisher"
M = "/api/v1/publisher/modules"
C = "/api/v1/admin/marketplace/categories"
A = "/api/v1/admin/marketplace"
D = "/api/v1/marketplace"
V = M + "/{module_id}/versions"
DL = D + "/modules/{slug}/download"
FILES = D + "/files/{key:path}"
L = D + "/licenses"
CART = D + "/cart"
CO = D + "/checkout"
ORD = D + "/orders"
SUB = L + "/{key}/subscription"
WH = D + "/webhooks"
CP = A + "/coupons"
REV = D + "/modules/{slug}/reviews"
RV = D + "/reviews/{review_id}"
PR = P + "/reviews/{review_id}/response"
ARV = A + "/reviews/{review_id}"
RR = A + "/review-reports"
PA = P + "/analytics"
AP = A + "/publishers"
PO = P + "/payouts"
APO = A + "/payouts"
PAYOUT_REFUSED = "receiver_unconfirmed: the PayPal account is not confirmed"
RUN_PERIOD = "2000-01"  # the first month there is: no ledger entry is that old

# fmt: off
MATRIX: dict[tuple[str, str], tuple[Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    # endpoint                                        anonymous consumer other    owner   admin
    ("GET",    "/openapi.json"):                      (OK200,  OK200,  OK200,  OK200,  OK200),
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
    ("POST",   P + "/register"):                      (ANON,   OK201,  ISPUB,  ISPUB,  OK201),
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
    # the public catalogue; {slug} is the owner's *private* module, or the owner's profile
    ("GET",    D + "/modules"):                       (OK200,  OK200,  OK200,  OK200,  OK200),
    ("GET",    D + "/modules/{slug}"):                (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
    ("GET",    D + "/modules/{slug}/versions"):       (NOMOD,  NOMOD,  NOMOD,  OK200,  NOMOD),
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
    ("GET",    D + "/signing-keys"):                  (OK200,  OK200,  OK200,  OK200,  OK200),
    # licenses: {key} is the owner's (2 seats, "inst-1" holds one), seen by its owner only
    # (the list: one's own licenses); for what an installed instance calls, the key is the
    # credential, whoever sends it
    ("GET",    L):                                    (ANON,   OK200,  OK200,  OK200,  OK200),
    ("GET",    L + "/public-key"):                    (OK200,  OK200,  OK200,  OK200,  OK200),
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
    # (and refund) as well; a refund starts its workflow
    ("GET",    ORD):                                  (ANON,   OK200,  OK200,  OK200,  OK200),
    ("GET",    ORD + "/{order_id}"):                  (ANON,   NOORD,  NOORD,  OK200,  OK200),
    ("GET",    ORD + "/{order_id}/invoice"):          (ANON,   NOORD,  NOORD,  OK200,  OK200),
    ("POST",   ORD + "/{order_id}/refund"):           (ANON,   NOORD,  NOORD,  OK202,  OK202),
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


# --- the app and the world every cell runs in ------------------------------------------


@pytest.fixture
def api(shared_api: Api) -> Api:
    """Every case here runs on the module's one app (see conftest's ``shared_api``)."""
    return shared_api


@dataclass(frozen=True)
class Archive:
    """A module archive in the app's storage, signed by the app's key."""

    key: str
    data: bytes
    sha256: str
    signature: str
    key_id: str


@dataclass(frozen=True)
class Shelf:
    storage: LocalStorage
    archives: dict[str, Archive]  # by version number: 0.9.0 (the draft's), 1.1.0, 1.2.0
    license_vault: LicenseVault  # the app's, to store license keys as checkout does
    license_keys: LicenseKeyRing  # the app's, which signs license answers and files


@pytest.fixture(scope="module")
def shelf(shared_app, tmp_path_factory) -> Shelf:
    """One small, distinct archive per released version, stored and signed once; and
    the app's license vault and keyring."""
    storage, keyring = shared_app.state.adapters.storage, shared_app.state.adapters.signing_keys
    folder = tmp_path_factory.mktemp("archives")
    stored = {}
    for number in ("0.9.0", "1.1.0", "1.2.0"):
        path = folder / f"matrix-{number}.zip"
        path.write_bytes(archives.build_zip([archives.Entry(f"matrix/{number}.txt", b"x")]))
        key = storage_key("matrix", number)
        storage.put_file(key, path)
        signed = keyring.sign_file(path)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stored[number] = Archive(key, data, digest, signed.signature_b64, signed.key_id)
    adapters = shared_app.state.adapters
    return Shelf(storage, stored, adapters.license_vault, adapters.license_keys)


@dataclass
class World:
    callers: dict[str, User | None]
    owner_publisher: Publisher
    other_publisher: Publisher
    draft: MarketplaceModule  # owned by the owner, technical name of the sample package
    pending: MarketplaceModule  # owned by the owner, waiting for review
    category: MarketplaceCategory  # empty, so it may be deleted
    token_id: int  # the owner's personal API token
    listed: MarketplaceModule  # published, public, featured, downloaded: a third publisher's
    private: MarketplaceModule  # the same, but private, owned by the owner; paid (20.00 USD)
    released: MarketplaceModule  # published, public, free, never downloaded: the owner's
    versions: dict[str, ModuleVersion]  # released: 1.1.0 deprecated, 1.2.0 latest; draft: 0.9.0
    held: ModuleVersion  # the pending module's 1.0.0, held for manual review
    archives: dict[str, Archive]  # what each of ``versions`` stores, by number
    files_link: str  # a valid signed link (path and query) to the 1.2.0 archive
    license: License  # the owner's, for ``listed``: 2 seats, one held by ``seat``
    license_key: str  # its key, in full
    seat: LicenseActivation  # instance "inst-1", last checked an hour ago
    carted: MarketplaceModule  # paid (5.00 USD), published, public: the third publisher's
    for_sale: MarketplaceModule  # the same (12.50 USD), in nobody's cart, licensed to nobody
    cart_item: CartItem  # the owner's one cart line, for ``carted``
    subscribed: MarketplaceModule  # monthly (9.00 USD), published, public: the third publisher's
    order: Order  # the owner's, completed, paid two days ago: a subscription to ``subscribed``
    sub_license: License  # the owner's, for ``subscribed``, issued by ``order``
    sub_key: str  # its key, in full
    subscription: Subscription  # its billing row: active, period 1, nothing saved to renew with
    trial_offer: MarketplaceModule  # monthly, 14 days' trial: the third publisher's, unlicensed
    coupon: Coupon  # active, 10 percent off
    shop_owner: User  # the third publisher's account (``listed``, ``carted`` ...): no caller
    banned: Publisher  # a fourth publisher (no caller), suspended for spam, with no modules
    review: ModuleReview  # the owner's of ``listed``: 4 stars, the consumer's helpful vote
    report: ReviewReport  # of ``review``, pending, by the shop's owner
    hidden_review: ModuleReview  # the consumer's of ``listed``: 2 stars, hidden by a moderator
    answered: ModuleReview  # other_publisher's of ``released``: 5 stars, answered yesterday
    sale: Order  # the shop owner's, paid on the 10th of last month: ``private`` (20.00 USD)
    earning: EarningEntry  # the owner's ledger sale for it: 20.00 gross, 6.00 commission
    payout: PublisherPayout  # the owner's for last month, paying ``earning``: failed (PayPal)

    def publisher_of(self, role: str) -> Publisher | None:
        return {"owner": self.owner_publisher, "other_publisher": self.other_publisher}.get(role)


_PASSWORD_HASH = security.hash_password(PASSWORD)
GOOD_CARD = "4242424242424242"  # the local gateway's test card that pays


def signed_link(storage: LocalStorage, archive: Archive) -> str:
    """A download link the files route accepts, as path and query."""
    url = storage.download_url(archive.key, expires_in=timedelta(minutes=5), filename="m.zip")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def build_world(sessions, shelf: Shelf) -> World:
    """All the rows in one transaction (factories would take one per row: too slow here)."""

    def user(role: Role) -> User:
        return User(
            email=f"{unique(role.value)}@example.com",
            password_hash=_PASSWORD_HASH,
            full_name="Matrix User",
            role=role,
        )

    def module(
        publisher: Publisher, status: ModuleStatus, technical_name: str | None = None
    ) -> MarketplaceModule:
        name = unique("mod")
        return MarketplaceModule(
            publisher=publisher,
            technical_name=technical_name or name.replace("-", "_"),
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
    banned_owner = user(Role.PUBLISHER)
    async with sessions() as session:
        session.add_all(
            [u for u in callers.values() if u is not None] + [banned_owner, category, token]
        )
        await session.flush()
        other_publisher = publisher(callers["other_publisher"])
        owner_publisher = publisher(callers["owner"])
        owner_publisher.payout_method, owner_publisher.paypal_email = "paypal", "pay@owner.test"
        banned = publisher(banned_owner)
        banned.status, banned.suspension_reason = "suspended", "spam"
        banned.suspended_at = datetime.now(UTC) - timedelta(days=7)
        draft = module(owner_publisher, ModuleStatus.DRAFT, archives.TECHNICAL_NAME)
        pending = module(owner_publisher, ModuleStatus.PENDING)
        released = module(owner_publisher, ModuleStatus.PUBLISHED)
        session.add_all([other_publisher, owner_publisher, banned, draft, pending, released])
        listed, private, shop_owner = await add_catalogue(session, owner_publisher)
        private.license_type, private.price = "paid", Decimal("20.00")  # sold by private link
        review, report, hidden_review, answered = await add_reviews(
            session, callers, shop_owner, listed, released
        )
        carted, for_sale = [
            MarketplaceModule(
                publisher_id=listed.publisher_id,
                technical_name=unique("mod").replace("-", "_"),
                slug=unique("mod"),
                display_name=f"Paid {price}",
                short_description="Sold in the marketplace.",
                status=ModuleStatus.PUBLISHED,
                license_type="paid",
                price=Decimal(price),
            )
            for price in ("5.00", "12.50")
        ]
        subscribed, trial_offer = [
            MarketplaceModule(
                publisher_id=listed.publisher_id,
                technical_name=unique("mod").replace("-", "_"),
                slug=unique("mod"),
                display_name=f"Monthly {price}",
                short_description="Rented in the marketplace.",
                status=ModuleStatus.PUBLISHED,
                license_type="subscription",
                subscription_period="monthly",
                price=Decimal(price),
                trial_days=trial_days,
            )
            for price, trial_days in (("9.00", None), ("4.00", 14))
        ]
        coupon = Coupon(code=unique("matrix").upper(), kind="percent", value=Decimal("10"))
        session.add_all([carted, for_sale, subscribed, trial_offer, coupon])
        await session.flush()
        cart_item = CartItem(user_id=callers["owner"].id, module_id=carted.id)
        session.add(cart_item)
        license_key, bought, seat = add_license(shelf.license_vault, callers["owner"], listed)
        session.add_all([bought, seat])
        paid_at = datetime.now(UTC) - timedelta(days=2)
        order = paid_order(callers["owner"], subscribed, paid_at)
        sub_key, sub_license = subscription_license(
            callers["owner"], subscribed, paid_at, shelf.license_vault, order=order
        )
        sale_at = datetime.combine(last_month() + timedelta(days=9), time(12), UTC)
        sale = paid_order(shop_owner, private, sale_at)
        payout = failed_payout(owner_publisher)
        session.add_all([order, sub_license, sale, payout])
        await session.flush()
        payout.order_ids = [sale.id]
        subscription = subscription_of(sub_license, subscribed, paid_at)
        earning = EarningEntry(
            publisher_id=owner_publisher.id,
            order_id=sale.id,
            module_id=private.id,
            kind="sale",
            gross=Decimal("20.00"),
            commission=Decimal("6.00"),
            net=Decimal("14.00"),
            commission_rate=Decimal("30.00"),
            currency="USD",
            occurred_at=sale_at,
            payout_id=payout.id,
        )
        session.add_all([subscription, earning])
        versions = add_releases(session, shelf, released, draft)
        held = ModuleVersion(
            module=pending,
            version="1.0.0",
            zip_file_url=f"staging/{uuid.uuid4().hex}.zip",
            status="manual_review",
            pipeline_step="manual_review",
            rejection_reasons=[
                {"code": "audit_unavailable", "detail": "down", "step": "scan", "data": {}}
            ],
            audit_status="unavailable",
            workflow_id=f"ingest-{pending.slug}-1.0.0",
        )
        session.add(held)
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
        released=released,
        versions=versions,
        held=held,
        archives=shelf.archives,
        files_link=signed_link(shelf.storage, shelf.archives["1.2.0"]),
        license=bought,
        license_key=license_key,
        seat=seat,
        carted=carted,
        for_sale=for_sale,
        cart_item=cart_item,
        subscribed=subscribed,
        order=order,
        sub_license=sub_license,
        sub_key=sub_key,
        subscription=subscription,
        trial_offer=trial_offer,
        coupon=coupon,
        shop_owner=shop_owner,
        banned=banned,
        review=review,
        report=report,
        hidden_review=hidden_review,
        answered=answered,
        sale=sale,
        earning=earning,
        payout=payout,
    )


def last_month() -> date:
    """The first day of the month before this one (UTC)."""
    return (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)


def failed_payout(publisher: Publisher) -> PublisherPayout:
    """Last month's payout of a sale's 14.00 net (the sale's order and ledger entry are the
    caller's to link), which PayPal refused once."""
    start = last_month()
    return PublisherPayout(
        publisher_id=publisher.id,
        gross_amount=Decimal("20.00"),
        platform_fee=Decimal("6.00"),
        net_amount=Decimal("14.00"),
        currency="USD",
        period_start=start,
        period_end=datetime.now(UTC).date().replace(day=1) - timedelta(days=1),
        status="failed",
        payout_method="paypal",
        attempts=1,
        failure_reason=PAYOUT_REFUSED,
    )


async def add_reviews(session, callers, shop_owner: User, listed, released):
    """The owner's review of ``listed`` (a buyer's: the owner holds a license) with the
    consumer's helpful vote and the shop owner's pending report; the consumer's review of
    ``listed``, hidden; the other publisher's of ``released``, answered by the owner
    yesterday. The modules' ratings count their published reviews."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    review = ModuleReview(
        module_id=listed.id,
        user_id=callers["owner"].id,
        rating=4,
        title="Solid",
        content="Does what it says.",
        verified_purchase=True,
        helpful_count=1,
    )
    hidden = ModuleReview(
        module_id=listed.id,
        user_id=callers["consumer"].id,
        rating=2,
        content="Rubbish, buy it elsewhere.",
        status="hidden",
        moderation_note="abusive",
        moderated_by=callers["admin"].id,
        moderated_at=yesterday,
    )
    answered = ModuleReview(
        module_id=released.id,
        user_id=callers["other_publisher"].id,
        rating=5,
        content="Just what I needed.",
        publisher_response="Thanks for the kind words.",
        publisher_responded_at=yesterday,
    )
    listed.rating_average, listed.rating_count = Decimal("4.00"), 1
    released.rating_average, released.rating_count = Decimal("5.00"), 1
    session.add_all([review, hidden, answered])
    await session.flush()
    report = ReviewReport(
        review_id=review.id, reporter_id=shop_owner.id, reason="fake", details="A rival's."
    )
    vote = ReviewVote(review_id=review.id, user_id=callers["consumer"].id, vote="helpful")
    session.add_all([report, vote])
    return review, report, hidden, answered


def paid_order(buyer: User, module: MarketplaceModule, paid_at: datetime) -> Order:
    """A completed order for one subscription, as checkout leaves it; its number is new
    (workflow ids are built from it)."""
    price = str(module.price)
    return Order(
        order_number=new_order_number(paid_at),
        user_id=buyer.id,
        items=[
            {
                "module_id": module.id,
                "publisher_id": module.publisher_id,
                "module_slug": module.slug,
                "module_name": module.display_name,
                "license_type": module.license_type,
                "subscription_period": module.subscription_period,
                "unit_price": price,
                "discount": "0.00",
                "tax": "0.00",
                "net_of_discount": price,
                "total": price,
            }
        ],
        subtotal=module.price,
        total=module.price,
        currency="USD",
        payment_method="local",
        payment_status="succeeded",
        paid_at=paid_at,
        status="completed",
        billing_email=buyer.email,
        billing_name=buyer.full_name,
    )


def subscription_license(
    owner: User, module: MarketplaceModule, start: datetime, vault=None, **fields
) -> tuple[str, License]:
    """A subscription license as checkout issues it, valid for one month from ``start``."""
    key = new_license_key()
    digest = license_key_hash(key)
    return key, License(
        license_key=digest,
        key_ciphertext=vault.seal(key, bound_to=digest) if vault else None,
        key_last=key[-5:],
        user_id=owner.id,
        module_id=module.id,
        license_type="subscription",
        purchased_at=start,
        activated_at=start,
        expires_at=add_period(start, SubscriptionPeriod.MONTHLY),
        **fields,
    )


def subscription_of(
    row: License, module: MarketplaceModule, start: datetime, cancelled: bool = False
) -> Subscription:
    """The billing row of a (flushed) subscription license: its first paid month, with no
    payment method saved; ``cancelled``: it ends with that month."""
    row.subscription_id = processes.Subscription.workflow_id(row.id, row.license_key)
    return Subscription(
        license_id=row.id,
        user_id=row.user_id,
        module_id=row.module_id,
        gateway="local",
        period="monthly",
        price=module.price,
        currency="USD",
        status="active",
        period_number=1,
        billing_anchor=start,
        current_period_start=start,
        current_period_end=row.expires_at,
        cancel_at_period_end=cancelled,
        cancelled_at=datetime.now(UTC) if cancelled else None,
    )


def add_license(vault: LicenseVault, owner: User, module: MarketplaceModule):
    """A license as checkout issues it (only the key's hash and ciphertext are stored),
    activated yesterday on one of its two seats."""
    key = new_license_key()
    digest = license_key_hash(key)
    now = datetime.now(UTC)
    row = License(
        license_key=digest,
        key_ciphertext=vault.seal(key, bound_to=digest),
        key_last=key[-5:],
        user_id=owner.id,
        module_id=module.id,
        license_type="purchase",
        purchased_at=now - timedelta(days=2),
        activated_at=now - timedelta(days=1),
        max_instances=2,
    )
    seat = LicenseActivation(
        license=row,
        instance_id="inst-1",
        activated_at=now - timedelta(days=1),
        last_check=now - timedelta(hours=1),
    )
    return key, row, seat


def add_releases(session, shelf: Shelf, released, draft) -> dict[str, ModuleVersion]:
    """Downloadable versions: their archives are really in storage, signed."""

    def release(module, number: str, status: str, latest: bool) -> ModuleVersion:
        archive = shelf.archives[number]
        major, minor, patch = (int(part) for part in number.split("."))
        return ModuleVersion(
            module=module,
            version=number,
            semver_major=major,
            semver_minor=minor,
            semver_patch=patch,
            zip_file_url=archive.key,
            zip_file_size=len(archive.data),
            zip_file_hash=archive.sha256,
            signature=archive.signature,
            signature_key_id=archive.key_id,
            status=status,
            is_latest=latest,
            published_at=datetime.now(UTC),
        )

    versions = {
        "1.1.0": release(released, "1.1.0", "deprecated", latest=False),
        "1.2.0": release(released, "1.2.0", "published", latest=True),
        "0.9.0": release(draft, "0.9.0", "published", latest=True),
    }
    session.add_all(versions.values())
    return versions


async def add_catalogue(session, owner_publisher: Publisher):
    """A listed module of a third publisher and the owner's private one: both published,
    featured, downloaded today, with a version, and both about "catalogue"; and the third
    publisher's account."""
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
            download_count=1,
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
    return listed, private, shop_owner


def url_of(
    path: str, world: World, downloads_of: MarketplaceModule | None = None, method: str = "GET"
) -> str:
    """The path for the world's resources; downloads are of ``downloads_of``, by default
    of the released module (its deprecated 1.1.0 when a version is asked for)."""
    if path == FILES:
        return world.files_link
    decided = path.endswith(("/approve", "/reject"))
    featured = {"/feature": world.released, "/unfeature": world.private}.get(
        path[path.rfind("/") :]
    )
    profile = path.startswith(D + "/publishers/")
    download = path.startswith(DL)
    downloads_of = downloads_of or world.released
    slugged = world.owner_publisher if profile else downloads_of if download else world.private
    if path.endswith("/trial"):
        slugged = world.trial_offer
    if path == REV:
        slugged = world.listed if method == "GET" else world.subscribed
    review = world.review
    if path == PR:
        review = world.answered
    elif path.endswith("/restore"):
        review = world.hidden_review
    return path.format(
        module_id=(featured or (world.pending if decided else world.draft)).id,
        category_id=world.category.id,
        token_id=world.token_id,
        slug=slugged.slug,
        version="1.1.0" if download and downloads_of is world.released else "0.9.0",
        version_id=world.held.id,
        key=world.sub_key if path.startswith(SUB) else world.license_key,
        item_id=world.cart_item.id,
        order_id=world.order.id,
        coupon_id=world.coupon.id,
        review_id=review.id,
        report_id=world.report.id,
        publisher_id=(world.banned if path.endswith("/reinstate") else world.owner_publisher).id,
        payout_id=world.payout.id,
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
        ("POST", V): {
            "files": {"file": ("package.zip", archives.sample_zip(), "application/zip")},
            "data": {"release_notes": "From the matrix"},
        },
        ("PUT", V + "/{version}"): {"json": {"release_notes": f"Notes {tag}"}},
        ("POST", A + "/versions/{version_id}/approve"): {"json": {"note": "audited by hand"}},
        ("POST", A + "/versions/{version_id}/reject"): {"json": {"reason": "audit it first"}},
        ("GET", DL + "/{version}"): {"params": {"redirect": "false"}},
        ("POST", L + "/{key}/verify"): {"json": {"instance_id": "inst-1", "nonce": f"n-{tag}"}},
        ("POST", L + "/{key}/activate"): {
            "json": {"instance_id": "inst-x", "domain": "shop.example.com"}
        },
        ("POST", L + "/{key}/deactivate"): {"json": {"instance_id": "inst-1"}},
        ("POST", CART + "/add"): {"json": {"module_id": world.for_sale.id}},
        ("POST", CO): {"json": {"payment_method": GOOD_CARD}},
        ("POST", CO + "/confirm"): {"json": {"order_number": world.order.order_number}},
        ("POST", ORD + "/{order_id}/refund"): {"json": {"reason": "not what I needed"}},
        ("POST", D + "/modules/{slug}/trial"): {"json": {}},
        ("POST", WH + "/stripe"): {"json": {"id": f"evt_{tag}", "type": "charge.succeeded"}},
        ("POST", WH + "/paypal"): {
            "json": {"id": f"WH-{tag}", "event_type": "PAYMENT.CAPTURE.COMPLETED"}
        },
        ("POST", CP): {"json": {"code": f"matrix-{tag}", "kind": "percent", "value": "15"}},
        ("PUT", CP + "/{coupon_id}"): {"json": {"max_redemptions": 50, "min_subtotal": "10.00"}},
    }
    payloads[("GET", D + "/search")] = {"params": {"q": "catalogue"}}
    bodies = {
        ("POST", REV): {"rating": 5, "title": f"Great {tag}", "content": "Works well."},
        ("PUT", RV): {"rating": 2, "content": f"Broke my dashboard {tag}"},
        ("POST", RV + "/vote"): {"vote": "not_helpful"},
        ("POST", RV + "/report"): {"reason": "spam", "details": f"An advert {tag}"},
        ("PUT", PR): {"response": f"Fixed in 1.2.0 {tag}"},
        ("POST", ARV + "/hide"): {"note": "abusive"},
        ("POST", ARV + "/restore"): {"note": "appeal accepted"},
        ("POST", RR + "/{report_id}/resolve"): {"note": "a rival's indeed", "hide": True},
        ("POST", RR + "/{report_id}/dismiss"): {"note": "nothing wrong with it"},
        ("POST", AP + "/{publisher_id}/suspend"): {"reason": "counterfeit listings"},
        ("POST", AP + "/{publisher_id}/reinstate"): {"note": "appeal accepted"},
        ("PUT", A + "/settings"): {"refund_window_days": 30},
        ("POST", A + "/modules/{module_id}/feature"): {"order": 3},
        ("POST", PO + "/settings"): {"payout_method": "stripe", "stripe_account_id": f"acct_{tag}"},
        ("POST", APO + "/runs"): {"period": RUN_PERIOD},
        ("POST", APO + "/{payout_id}/mark-paid"): {"reference": f"wire {tag}"},
    }
    payloads.update({key: {"json": payload} for key, payload in bodies.items()})
    days = {"from": str(last_month()), "to": str(datetime.now(UTC).date())}
    for route in ("/overview", "/downloads", "/revenue", "/reviews"):
        payloads[("GET", PA + route)] = {"params": {"period": "custom", **days}}
    payloads[("GET", A + "/analytics")] = {"params": {"period": "custom", **days}}
    payloads[("GET", PO + "/earnings.csv")] = {"params": days}
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
    storage: LocalStorage
    license_keys: LicenseKeyRing


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
        assert ids == {w.draft.id, w.pending.id, w.private.id, w.released.id}
        assert r.json()["total"] == 4
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
    assert r.json()["module_count"] == 1, "the released module counts, the private one not"


async def check_publisher_modules(r, w, role, env):
    assert [m["id"] for m in r.json()["items"]] == [w.released.id] and r.json()["total"] == 1


async def check_upload_accepted(r, w, role, env):
    workflow_id = f"ingest-{w.draft.slug}-1.0.0"
    staged = None
    try:
        body = r.json()
        assert body["workflow_id"] == workflow_id
        assert body["status_url"] == f"{M}/{w.draft.id}/versions/1.0.0"
        assert body["version"]["version"] == "1.0.0" and body["version"]["status"] == "processing"
        stored = await _reload(env, ModuleVersion, body["version"]["id"])
        staged = stored.zip_file_url
        assert stored.module_id == w.draft.id and stored.uploaded_by == w.callers[role].id
        assert stored.release_notes == "From the matrix"
        sample = archives.sample_zip()
        assert stored.upload_sha256 == hashlib.sha256(sample).hexdigest()
        assert env.storage.path_for(staged).read_bytes() == sample, "the upload is staged"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # No worker serves this app's queue and the rows are rolled back: end the run.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")
        if staged is not None:
            env.storage.delete(staged)


async def check_version_list(r, w, role, env):
    assert [v["id"] for v in r.json()] == [w.versions["0.9.0"].id]


async def check_version_read(r, w, role, env):
    body = r.json()
    assert body["id"] == w.versions["0.9.0"].id and body["module_id"] == w.draft.id
    assert body["status"] == "published" and body["sha256"] == w.archives["0.9.0"].sha256


async def check_version_notes(r, w, role, env):
    stored = await _reload(env, ModuleVersion, w.versions["0.9.0"].id)
    assert stored.release_notes == r.json()["release_notes"]
    assert stored.release_notes.startswith("Notes ")


async def check_version_deprecated(r, w, role, env):
    assert r.json()["status"] == "deprecated" and r.json()["is_latest"] is False
    stored = await _reload(env, ModuleVersion, w.versions["0.9.0"].id)
    assert stored.status == "deprecated" and stored.is_latest is False


async def check_held_versions(r, w, role, env):
    body = r.json()
    assert [v["id"] for v in body["items"]] == [w.held.id] and body["total"] == 1
    assert [x["code"] for x in body["items"][0]["rejection_reasons"]] == ["audit_unavailable"]


async def check_download(r, w, role, env):
    """The link (a redirect, or JSON) names the version asked for and its hash and
    signature, leads to its bytes without any credential, and the download is counted."""
    _, _, tail = r.request.url.path.partition("/modules/")
    slug, _, number = tail.partition("/download")
    module = {w.released.slug: w.released, w.draft.slug: w.draft}[slug]
    number = number.lstrip("/") or ("1.2.0" if module is w.released else "0.9.0")
    archive, version = w.archives[number], w.versions[number]
    if r.status_code == 307:
        assert r.headers["cache-control"] == "no-store"
        link = {
            "url": r.headers["location"],
            "version": r.headers["x-module-version"],
            "sha256": r.headers["x-checksum-sha256"],
            "signature": r.headers["x-signature"],
            "signature_key_id": r.headers["x-signature-key-id"],
        }
    else:
        link = r.json()
        assert link["size"] == len(archive.data) and link["expires_in_seconds"] > 0
    assert link["version"] == number
    assert (link["sha256"], link["signature"], link["signature_key_id"]) == (
        archive.sha256,
        archive.signature,
        archive.key_id,
    )
    parts = urlsplit(link["url"])
    fetched = await env.api.request("GET", f"{parts.path}?{parts.query}")
    assert fetched.status_code == 200 and fetched.content == archive.data, fetched.text
    async with env.make.sessions() as session:
        users = await session.scalars(
            select(ModuleDownload.user_id).where(ModuleDownload.version_id == version.id)
        )
        assert list(users) == [w.callers[role].id if w.callers[role] else None]
    assert (await _reload(env, MarketplaceModule, module.id)).download_count == 1
    assert (await _reload(env, ModuleVersion, version.id)).download_count == 1


async def check_file_served(r, w, role, env):
    """A valid link gives anyone the bytes; no credential makes up for a tampered one."""
    archive = w.archives["1.2.0"]
    assert r.content == archive.data and r.headers["content-type"] == "application/zip"
    name = archive.key.rsplit("/", 1)[-1]
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    path, _, query = w.files_link.partition("?")
    valid = dict(parse_qsl(query))
    another = dict(parse_qsl(signed_link(env.storage, w.archives["1.1.0"]).partition("?")[2]))
    for forged in (
        {**valid, "signature": valid["signature"][::-1]},
        {**valid, "expires": str(int(valid["expires"]) + 3600)},
        another,  # signed, but for another archive
    ):
        refused = await env.api.request("GET", path, as_user=w.callers[role], params=forged)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "download_link_invalid"


async def check_signing_keys(r, w, role, env):
    """The key that signed the archives is listed, and its public key verifies them."""
    assert "PRIVATE" not in r.text
    archive = w.archives["1.2.0"]
    key = {k["key_id"]: k for k in r.json()}[archive.key_id]
    assert key["status"] == "current" and key["algorithm"] == "ecdsa-p256-sha256"
    stored = env.storage.path_for(archive.key)
    assert verify_with_public_pem(stored, archive.signature, key["public_key_pem"])


async def published_license_pem(env) -> str:
    """The current license key as an installed instance gets it: the published list."""
    keys = (await env.api.request("GET", L + "/public-key")).json()
    [pem] = [k["public_key_pem"] for k in keys if k["status"] == "current"]
    return pem


async def check_my_licenses(r, w, role, env):
    """Each caller sees their own licenses only; the owner sees the keys in full."""
    if role != "owner":
        assert r.json() == [], "another account's license leaked"
        return
    by_id = {item["id"]: item for item in r.json()}
    assert by_id.keys() == {w.license.id, w.sub_license.id}
    item = by_id[w.license.id]
    assert item["license_key"] == w.license_key
    assert item["module_slug"] == w.listed.slug and item["max_instances"] == 2
    item = by_id[w.sub_license.id]
    assert item["license_key"] == w.sub_key and item["license_type"] == "subscription"
    assert item["module_slug"] == w.subscribed.slug


async def check_license_public_keys(r, w, role, env):
    """The key that signs license answers is listed as current, as its public half."""
    assert "PRIVATE" not in r.text
    [current] = [k for k in r.json() if k["status"] == "current"]
    assert current["key_id"] == env.license_keys.key_id and current["algorithm"] == "ed25519"
    assert license_key_id(load_public_key(current["public_key_pem"])) == current["key_id"]


async def check_license_details(r, w, role, env):
    body = r.json()
    assert body["id"] == w.license.id and body["license_key"] == w.license_key
    assert body["module_slug"] == w.listed.slug
    assert body["max_instances"] == 2 and body["active_instances"] == 1


async def check_offline_license(r, w, role, env):
    """A license file that verifies with the published key alone, for this license."""
    document = verify_document(r.json(), await published_license_pem(env), OfflineLicense)
    assert document is not None, "the file must verify with the published key"
    assert document.license_id == w.license.id and document.module == w.listed.technical_name
    assert document.max_instances == 2 and document.key_id == env.license_keys.key_id
    assert document.license_key == mask_license_key(w.license_key)
    assert w.license_key not in r.text, "the full key is never in a signed document"


async def valid_answer(r, w, env, instance: str) -> VerificationAnswer:
    """The response's signed answer, checked with the published key: VALID."""
    answer = verify_document(r.json(), await published_license_pem(env), VerificationAnswer)
    assert answer is not None, "the answer must verify with the published key"
    assert answer.code == "VALID" and answer.instance_id == instance
    assert answer.module == w.listed.technical_name
    assert answer.license_key == mask_license_key(w.license_key)
    assert w.license_key not in r.text, "the full key is never echoed"
    return answer


async def check_verified(r, w, role, env):
    """Whoever holds the key learns it is VALID for "inst-1"; the check is recorded."""
    answer = await valid_answer(r, w, env, "inst-1")
    assert answer.nonce == json.loads(r.request.content)["nonce"]
    seat = await _reload(env, LicenseActivation, w.seat.id)
    assert seat.last_check > w.seat.last_check


async def check_activated(r, w, role, env):
    """A new instance takes the second seat, and the activation is audited."""
    assert r.json()["outcome"] == "activate"
    await valid_answer(r, w, env, "inst-x")
    async with env.make.sessions() as session:
        seats = await session.scalars(
            select(LicenseActivation).where(
                LicenseActivation.license_id == w.license.id, LicenseActivation.status == "active"
            )
        )
        assert {s.instance_id: s.domain for s in seats} == {
            "inst-1": None,
            "inst-x": "shop.example.com",
        }
        audited = await session.scalars(
            select(AuditLogEntry.changes).where(
                AuditLogEntry.action == "license.activate",
                AuditLogEntry.entity_id == str(w.license.id),
            )
        )
        assert [c["instance_id"] for c in audited] == ["inst-x"]


async def check_deactivated(r, w, role, env):
    """The seat of "inst-1" is freed; the answer shows the key masked."""
    body = r.json()
    assert body["id"] == w.license.id and body["active_instances"] == 0
    assert body["license_key"] == mask_license_key(w.license_key)
    seat = await _reload(env, LicenseActivation, w.seat.id)
    assert seat.status == "deactivated" and seat.deactivated_at is not None


def cart_line(item_id: int, module: MarketplaceModule) -> dict:
    """A cart line as the API shows it."""
    return {
        "id": item_id,
        "module_id": module.id,
        "module_slug": module.slug,
        "module_name": module.display_name,
        "license_type": "paid",
        "unit_price": str(module.price),
        "currency": "USD",
    }


async def cart_rows(env, user: User) -> list[tuple[int, int]]:
    """(id, module_id) of the user's stored cart lines."""
    async with env.make.sessions() as session:
        rows = await session.execute(
            select(CartItem.id, CartItem.module_id)
            .where(CartItem.user_id == user.id)
            .order_by(CartItem.id)
        )
        return [tuple(row) for row in rows.all()]


def check_totals(body: dict, subtotal: str) -> None:
    totals = body["totals"]
    assert totals["currency"] == "USD" and totals["subtotal"] == subtotal
    assert totals["discount"] == "0.00"
    assert Decimal(totals["total"]) == Decimal(subtotal) + Decimal(totals["tax"])


async def check_cart(r, w, role, env):
    """The owner sees their one line, priced; everyone else an empty cart."""
    body = r.json()
    if role != "owner":
        assert body == {"items": [], "totals": None}, "another account's cart leaked"
        return
    assert body["items"] == [cart_line(w.cart_item.id, w.carted)]
    check_totals(body, "5.00")


async def check_cart_added(r, w, role, env):
    """The module is added to the caller's own cart (after the owner's existing line)."""
    body = r.json()
    stored = await cart_rows(env, w.callers[role])
    assert stored[-1][1] == w.for_sale.id
    expected = [cart_line(stored[-1][0], w.for_sale)]
    if role == "owner":
        expected.insert(0, cart_line(w.cart_item.id, w.carted))
    assert body["items"] == expected
    assert [(line["id"], line["module_id"]) for line in expected] == stored
    check_totals(body, "17.50" if role == "owner" else "12.50")
    if role != "owner":
        assert await cart_rows(env, w.callers["owner"]) == [(w.cart_item.id, w.carted.id)]


async def check_cart_item_removed(r, w, role, env):
    assert r.content == b""
    assert await _reload(env, CartItem, w.cart_item.id) is None
    assert await cart_rows(env, w.callers[role]) == []


async def audited(env, action: str, entity_id: int) -> list[tuple[int | None, dict]]:
    """(actor, changes) of the audit entries of one action on one entity."""
    async with env.make.sessions() as session:
        rows = await session.execute(
            select(AuditLogEntry.actor_id, AuditLogEntry.changes)
            .where(AuditLogEntry.action == action, AuditLogEntry.entity_id == str(entity_id))
            .order_by(AuditLogEntry.id)
        )
        return [tuple(row) for row in rows.all()]


async def forget_workflow(client, workflow_id: str) -> None:
    """End a run and delete it, so that its id (built from a row id, which a truncation
    hands out again) can be started afresh by a later test."""
    with contextlib.suppress(Exception):
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )


async def check_checkout_started(r, w, role, env):
    """The owner's cart becomes a pending order for ``carted`` and is emptied; the
    checkout workflow is started for it."""
    body = r.json()
    order = body["order"]
    workflow_id = f"checkout-{order['order_number']}"
    try:
        assert body["workflow_id"] == workflow_id
        assert body["status_url"] == f"{ORD}/{order['id']}"
        assert order["status"] == "pending" and order["payment"]["gateway"] == "local"
        assert [(i["module_id"], i["unit_price"]) for i in order["items"]] == [
            (w.carted.id, "5.00")
        ]
        assert order["subtotal"] == "5.00" and order["license_ids"] == []
        stored = await _reload(env, Order, order["id"])
        assert stored.user_id == w.callers[role].id and stored.status == "pending"
        assert stored.total == Decimal(order["total"]) == Decimal("5.00") + stored.tax_amount
        assert await cart_rows(env, w.callers[role]) == [], "the cart became the order"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # No worker takes this payment and the rows are rolled back: end the run.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")


async def check_confirmed(r, w, role, env):
    """Confirming the settled order answers with it, changes nothing and asks no workflow."""
    body = r.json()
    assert body["id"] == w.order.id and body["order_number"] == w.order.order_number
    assert body["status"] == "completed" and body["license_ids"] == [w.sub_license.id]
    assert (await _reload(env, Order, w.order.id)).status == "completed"
    handle = env.temporal_client.get_workflow_handle(f"checkout-{w.order.order_number}")
    with pytest.raises(RPCError):
        await handle.describe()


async def check_my_orders(r, w, role, env):
    """Each caller lists their own orders only (an admin too, who has none)."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another account's order leaked"
        return
    assert [o["id"] for o in body["items"]] == [w.order.id] and body["total"] == 1
    assert body["items"][0]["order_number"] == w.order.order_number


async def check_order_details(r, w, role, env):
    body = r.json()
    assert body["id"] == w.order.id and body["order_number"] == w.order.order_number
    assert body["status"] == "completed" and body["total"] == "9.00"
    assert [i["module_id"] for i in body["items"]] == [w.subscribed.id]
    assert body["license_ids"] == [w.sub_license.id]
    assert body["invoice_url"] == f"{ORD}/{w.order.id}/invoice"


async def check_invoice(r, w, role, env):
    """The order's invoice, a PDF naming the order and what it bought."""
    number = f"INV-{w.order.order_number.removeprefix('FV-')}"
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    printed = " ".join(page.extract_text() for page in PdfReader(BytesIO(r.content)).pages)
    assert number in printed and w.order.order_number in printed
    assert w.subscribed.display_name in printed and "9.00" in printed


async def check_refund_started(r, w, role, env):
    """Audited with who asked, and the refund workflow started (its buyer's, or an
    admin's); the order stays completed until that workflow refunds it."""
    caller = w.callers[role]
    handle = env.temporal_client.get_workflow_handle(f"refund-{w.order.order_number}")
    try:
        body = r.json()
        assert body["id"] == w.order.id and body["status"] == "completed"
        assert (await _reload(env, Order, w.order.id)).status == "completed"
        assert await audited(env, "order.refund", w.order.id) == [
            (caller.id, {"reason": "not what I needed", "by_admin": role == "admin"})
        ]
        assert (await handle.describe()).status.name == "RUNNING"
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [asked] = await env.temporal_client.data_converter.decode(
            started.input.payloads, [RefundInput]
        )
        assert asked.order_id == w.order.id and asked.requested_by == caller.id
        assert asked.initiated_by == ("admin" if role == "admin" else "buyer")
    finally:
        with contextlib.suppress(Exception):
            await handle.terminate("test done")


async def check_trial_started(r, w, role, env):
    """A trial license of ``trial_offer`` for the caller, its trialing billing row, and the
    subscription workflow started for it."""
    body = r.json()
    stored = await _reload(env, License, body["license_id"])
    workflow_id = processes.Subscription.workflow_id(stored.id, stored.license_key)
    try:
        caller = w.callers[role]
        assert stored.user_id == caller.id and stored.module_id == w.trial_offer.id
        assert stored.license_type == "trial" and stored.status == "active"
        assert stored.license_key == license_key_hash(normalize_license_key(body["license_key"]))
        assert stored.expires_at - stored.trial_started_at == timedelta(days=14)
        sub = body["subscription"]
        assert sub["workflow_id"] == workflow_id and sub["license_id"] == stored.id
        assert sub["status"] == "trialing" and sub["period_number"] == 0
        async with env.make.sessions() as session:
            row = await session.scalar(
                select(Subscription).where(Subscription.license_id == stored.id)
            )
        assert row.user_id == caller.id and row.status == "trialing"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


async def check_subscription(r, w, role, env):
    """The billing state of the owner's subscription; the owner's purchased license has
    none."""
    body = r.json()
    assert body["license_id"] == w.sub_license.id
    assert body["workflow_id"] == w.sub_license.subscription_id
    assert (body["status"], body["period"], body["price"]) == ("active", "monthly", "9.00")
    assert body["period_number"] == 1 and body["cancel_at_period_end"] is False
    assert body["has_payment_method"] is False
    other = await env.api.request(
        "GET", f"{L}/{w.license_key}/subscription", as_user=w.callers[role]
    )
    assert other.status_code == 404 and other.json()["error"] == "not_a_subscription"


async def check_coupon_created(r, w, role, env):
    body = r.json()
    sent = json.loads(r.request.content)
    assert body["code"] == sent["code"].upper() and body["kind"] == "percent"
    assert Decimal(body["value"]) == 15 and body["active"] is True
    stored = await _reload(env, Coupon, body["id"])
    assert stored.code == body["code"] and stored.created_by == w.callers[role].id
    [(actor, changes)] = await audited(env, "coupon.create", stored.id)
    assert actor == w.callers[role].id
    assert (changes["code"], changes["kind"], Decimal(changes["value"])) == (
        sent["code"],
        "percent",
        15,
    )


async def check_coupon_list(r, w, role, env):
    body = r.json()
    assert w.coupon.id in [c["id"] for c in body["items"]] and body["total"] >= 1


async def check_coupon_read(r, w, role, env):
    body = r.json()
    assert body["id"] == w.coupon.id and body["code"] == w.coupon.code
    assert body["kind"] == "percent" and Decimal(body["value"]) == 10 and body["active"]


async def check_coupon_updated(r, w, role, env):
    """The limit and minimum change; the code, kind and value stay; audited."""
    body = r.json()
    assert body["max_redemptions"] == 50 and Decimal(body["min_subtotal"]) == 10
    stored = await _reload(env, Coupon, w.coupon.id)
    assert (stored.code, stored.kind, stored.value) == (w.coupon.code, "percent", 10)
    assert stored.max_redemptions == 50 and stored.min_subtotal == Decimal("10.00")
    assert stored.updated_by == w.callers[role].id
    assert await audited(env, "coupon.update", w.coupon.id) == [
        (w.callers[role].id, {"max_redemptions": 50, "min_subtotal": "10.00"})
    ]


async def check_coupon_deactivated(r, w, role, env):
    assert r.content == b""
    stored = await _reload(env, Coupon, w.coupon.id)
    assert stored.active is False and stored.updated_by == w.callers[role].id
    assert await audited(env, "coupon.deactivate", w.coupon.id) == [
        (w.callers[role].id, {"active": False})
    ]


# --- reviews --------------------------------------------------------------------------


async def rows_of(env, *columns, where) -> list[tuple]:
    async with env.make.sessions() as session:
        return [tuple(row) for row in (await session.execute(select(*columns).where(*where)))]


async def votes_on(env, review: ModuleReview) -> dict[int, str]:
    return dict(
        await rows_of(
            env, ReviewVote.user_id, ReviewVote.vote, where=[ReviewVote.review_id == review.id]
        )
    )


async def reports_of(env, review: ModuleReview) -> dict[int, str]:
    """Each reporter's report of the review, by status."""
    return dict(
        await rows_of(
            env,
            ReviewReport.reporter_id,
            ReviewReport.status,
            where=[ReviewReport.review_id == review.id],
        )
    )


async def rating_of(env, module: MarketplaceModule) -> tuple[Decimal | None, int]:
    stored = await _reload(env, MarketplaceModule, module.id)
    return stored.rating_average, stored.rating_count


async def mail_of(env, kind: str) -> list[tuple[str, str]]:
    """(recipient, dedupe key) of the mail of one kind waiting in the outbox."""
    return await rows_of(
        env,
        NotificationOutbox.to_email,
        NotificationOutbox.dedupe_key,
        where=[NotificationOutbox.kind == kind],
    )


async def check_reviews_listed(r, w, role, env):
    """The published review only (the hidden one is nobody's to read), by name, never by
    address, and the module's rating."""
    body = r.json()
    assert [item["id"] for item in body["items"]] == [w.review.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["rating"], item["status"], item["helpful_count"]) == (4, "published", 1)
    assert item["reviewer_name"] == "Matrix User" and item["verified_purchase"] is True
    assert (body["rating_average"], body["rating_count"]) == ("4.00", 1)
    assert "@" not in r.text, "a reviewer's email leaked"


async def check_review_written(r, w, role, env):
    """The caller's review of ``subscribed``: rated, counted, and its publisher told."""
    body = r.json()
    stored = await _reload(env, ModuleReview, body["id"])
    assert stored.user_id == w.callers[role].id and stored.module_id == w.subscribed.id
    assert (stored.rating, stored.status) == (5, "published") and stored.title.startswith("Great")
    assert body["verified_purchase"] is stored.verified_purchase is (role == "owner")
    assert await rating_of(env, w.subscribed) == (Decimal("5.00"), 1)
    assert await mail_of(env, "review.new") == [(w.shop_owner.email, f"review-{stored.id}-new")]


async def check_review_rewritten(r, w, role, env):
    body = r.json()
    assert body["id"] == w.review.id and body["rating"] == 2 and body["title"] is None
    stored = await _reload(env, ModuleReview, w.review.id)
    assert stored.content == body["content"] and stored.content.startswith("Broke")
    assert stored.updated_by == w.callers[role].id and stored.status == "published"
    assert await rating_of(env, w.listed) == (Decimal("2.00"), 1), "the hidden one not counted"


async def check_review_deleted(r, w, role, env):
    """Gone with its vote and report, out of the rating; audited when an admin did it."""
    assert r.content == b""
    assert await _reload(env, ModuleReview, w.review.id) is None
    assert await votes_on(env, w.review) == {} and await reports_of(env, w.review) == {}
    assert await rating_of(env, w.listed) == (None, 0)
    assert await _reload(env, ModuleReview, w.hidden_review.id) is not None
    expected = {"module_id": w.listed.id, "user_id": w.callers["owner"].id, "rating": 4}
    logged = [(w.callers[role].id, expected)] if role == "admin" else []
    assert await audited(env, "review.delete", w.review.id) == logged


async def check_voted(r, w, role, env):
    """The caller's vote is cast (the consumer's changed), next to any other; recounted."""
    caller = w.callers[role]
    helpful = 0 if role == "consumer" else 1
    assert r.json() == {
        "review_id": w.review.id,
        "vote": "not_helpful",
        "helpful_count": helpful,
        "not_helpful_count": 1,
    }
    expected = {w.callers["consumer"].id: "helpful", caller.id: "not_helpful"}
    assert await votes_on(env, w.review) == expected
    stored = await _reload(env, ModuleReview, w.review.id)
    assert (stored.helpful_count, stored.not_helpful_count) == (helpful, 1)


async def check_vote_removed(r, w, role, env):
    """One's own vote goes; nobody takes back the consumer's but the consumer."""
    helpful = 0 if role == "consumer" else 1
    assert r.json() == {
        "review_id": w.review.id,
        "vote": None,
        "helpful_count": helpful,
        "not_helpful_count": 0,
    }
    remaining = {} if role == "consumer" else {w.callers["consumer"].id: "helpful"}
    assert await votes_on(env, w.review) == remaining
    assert (await _reload(env, ModuleReview, w.review.id)).helpful_count == helpful


async def check_reported(r, w, role, env):
    body = r.json()
    assert (body["review_id"], body["reason"], body["status"]) == (w.review.id, "spam", "pending")
    assert await reports_of(env, w.review) == {
        w.shop_owner.id: "pending",
        w.callers[role].id: "pending",
    }
    assert (await _reload(env, ModuleReview, w.review.id)).status == "published", "stays up"


async def check_publisher_reviews(r, w, role, env):
    """Reviews of one's own modules only: the owner sees ``answered``, its author (the
    other publisher) nothing."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another publisher's review leaked"
        return
    assert [item["id"] for item in body["items"]] == [w.answered.id] and body["total"] == 1
    assert body["items"][0]["publisher_response"]["response"] == "Thanks for the kind words."


async def check_response_written(r, w, role, env):
    """The owner's answer is replaced; the time of the first answer stays; audited."""
    sent = json.loads(r.request.content)["response"]
    assert r.json()["publisher_response"]["response"] == sent
    stored = await _reload(env, ModuleReview, w.answered.id)
    assert stored.publisher_response == sent and stored.updated_by == w.callers[role].id
    assert stored.publisher_responded_at == w.answered.publisher_responded_at
    assert await audited(env, "review.response.update", w.answered.id) == [
        (w.callers[role].id, {"response": sent})
    ]


async def check_response_removed(r, w, role, env):
    assert r.content == b""
    stored = await _reload(env, ModuleReview, w.answered.id)
    assert stored.publisher_response is None and stored.publisher_responded_at is None
    assert stored.rating == 5 and stored.status == "published", "the review itself stays"
    assert await audited(env, "review.response.delete", w.answered.id) == [(w.callers[role].id, {})]


async def check_report_queue(r, w, role, env):
    body = r.json()
    assert [item["id"] for item in body["items"]] == [w.report.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["reporter_id"], item["reason"], item["pending_reports"]) == (
        w.shop_owner.id,
        "fake",
        1,
    )
    assert item["review"]["id"] == w.review.id
    assert item["review"]["user_id"] == w.callers["owner"].id


async def check_review_hidden(r, w, role, env):
    """Off the site and out of the rating, its pending report resolved; audited."""
    admin = w.callers[role]
    body = r.json()
    assert (body["id"], body["status"], body["moderation_note"]) == (
        w.review.id,
        "hidden",
        "abusive",
    )
    stored = await _reload(env, ModuleReview, w.review.id)
    assert stored.status == "hidden" and stored.moderated_by == admin.id
    report = await _reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolved_by, report.resolution_note) == (
        "resolved",
        admin.id,
        "abusive",
    )
    assert await rating_of(env, w.listed) == (None, 0)
    assert await audited(env, "review.hide", w.review.id) == [
        (admin.id, {"note": "abusive", "resolved_reports": [w.report.id]})
    ]


async def check_review_restored(r, w, role, env):
    """Back on the site and in the rating: (4 + 2) / 2; audited."""
    admin = w.callers[role]
    body = r.json()
    assert (body["id"], body["status"]) == (w.hidden_review.id, "published")
    stored = await _reload(env, ModuleReview, w.hidden_review.id)
    assert stored.status == "published" and stored.moderated_by == admin.id
    assert stored.moderation_note == "appeal accepted"
    assert await rating_of(env, w.listed) == (Decimal("3.00"), 2)
    assert await audited(env, "review.restore", w.hidden_review.id) == [
        (admin.id, {"note": "appeal accepted"})
    ]


async def check_report_resolved(r, w, role, env):
    """The report resolved, and (``hide``) the review hidden with the same note; both
    audited."""
    admin, note = w.callers[role], "a rival's indeed"
    body = r.json()
    assert (body["id"], body["status"], body["resolved_by"]) == (w.report.id, "resolved", admin.id)
    assert body["review"]["status"] == "hidden" and body["pending_reports"] == 0
    report = await _reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolution_note) == ("resolved", note)
    stored = await _reload(env, ModuleReview, w.review.id)
    assert (stored.status, stored.moderation_note) == ("hidden", note)
    assert await rating_of(env, w.listed) == (None, 0)
    assert await audited(env, "review_report.resolve", w.report.id) == [
        (admin.id, {"note": note, "hide": True, "review_id": w.review.id})
    ]
    assert await audited(env, "review.hide", w.review.id) == [
        (admin.id, {"note": note, "resolved_reports": [], "via_report": w.report.id})
    ]


async def check_report_dismissed(r, w, role, env):
    admin, note = w.callers[role], "nothing wrong with it"
    body = r.json()
    assert (body["id"], body["status"], body["resolution_note"]) == (w.report.id, "dismissed", note)
    report = await _reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolved_by) == ("dismissed", admin.id)
    assert (await _reload(env, ModuleReview, w.review.id)).status == "published"
    assert await rating_of(env, w.listed) == (Decimal("4.00"), 1)
    assert await audited(env, "review_report.dismiss", w.report.id) == [
        (admin.id, {"note": note, "review_id": w.review.id})
    ]


# --- analytics ------------------------------------------------------------------------


SALE = [{"currency": "USD", "gross": "20.00", "commission": "6.00", "net": "14.00"}]


async def not_for_another(r, w, role, env) -> bool:
    """For the other publisher, one of the owner's modules is as absent as none; True
    when the caller is the owner."""
    if role == "owner":
        return True
    again = await env.api.request(
        "GET",
        r.request.url.path,
        as_user=w.callers[role],
        params={**dict(r.request.url.params), "module_id": w.private.id},
    )
    assert again.status_code == 404 and again.json()["error"] == "module_not_found", again.text
    return False


async def check_overview(r, w, role, env):
    """The owner's figures (4 modules, 2 published; the private one downloaded once and
    sold once, ``answered``); none to the other publisher."""
    body = r.json()
    assert body["period"]["period"] == "custom" and body["module_id"] is None
    if not await not_for_another(r, w, role, env):
        assert (body["modules"], body["published_modules"], body["top_modules"]) == (0, 0, [])
        assert (
            body["all_time"]
            == body["in_period"]
            == {
                "views": 0,
                "downloads": 0,
                "orders": 0,
                "sales": 0,
                "refunds": 0,
                "revenue": [],
                "reviews": 0,
                "average_rating": None,
            }
        )
        return
    assert (body["modules"], body["published_modules"]) == (4, 2)
    for figures in (body["all_time"], body["in_period"]):
        assert (figures["downloads"], figures["orders"], figures["sales"]) == (1, 1, 1)
        assert figures["revenue"] == SALE
        assert (figures["reviews"], figures["average_rating"]) == (1, "5.00")
    top = body["top_modules"][0]
    assert (top["module_id"], top["downloads"], top["sales"]) == (w.private.id, 1, 1)
    assert sum(point["downloads"] for point in body["series"]) == 1
    assert sum(point["sales"] for point in body["series"]) == 1


async def check_download_figures(r, w, role, env):
    body = r.json()
    if not await not_for_another(r, w, role, env):
        assert (body["total"], body["all_time"], body["by_version"]) == (0, 0, [])
        return
    assert (body["total"], body["all_time"], body["signed_in_users"]) == (1, 1, 0)
    assert body["by_version"] == [{"value": "1.0.0", "downloads": 1}]


async def check_revenue(r, w, role, env):
    body = r.json()
    if not await not_for_another(r, w, role, env):
        assert body["currencies"] == [] and body["all_time"]["revenue"] == []
        assert body["totals"] == {"orders": 0, "sales": 0, "refunds": 0, "revenue": []}
        return
    assert body["currencies"] == ["USD"]
    for totals in (body["totals"], body["all_time"]):
        assert totals == {"orders": 1, "sales": 1, "refunds": 0, "revenue": SALE}
    [point] = [p for p in body["series"] if p["sales"]]
    assert point["start"].startswith(str(w.earning.occurred_at.date()))


async def check_review_figures(r, w, role, env):
    body = r.json()
    mine = await not_for_another(r, w, role, env)
    for totals in (body["totals"], body["all_time"]):
        assert totals["reviews"] == totals["responded"] == int(mine)
        assert totals["average_rating"] == ("5.00" if mine else None)
        assert totals["distribution"]["5"] == int(mine) and totals["verified_purchases"] == 0


async def check_platform_figures(r, w, role, env):
    """The whole platform: both downloads, both orders paid (the owner's subscription two
    days ago, the shop owner's purchase last month), the commission of the one sale, every
    publisher and module."""
    body = r.json()
    totals = body["totals"]
    assert body["currencies"] == ["USD"]
    assert (totals["downloads"], totals["orders"], totals["refunds"]) == (2, 2, 0)
    assert totals["money"] == [
        {"currency": "USD", "orders_total": "29.00", "refunded": "0.00", "commission": "6.00"}
    ]
    publishers = await rows_of(env, Publisher.id, where=[])
    modules = await rows_of(env, MarketplaceModule.id, where=[])
    assert (totals["new_publishers"], totals["new_modules"]) == (len(publishers), len(modules))
    assert len(publishers) == 4 and len(modules) == 9


# --- publishers, settings, featuring ------------------------------------------------------


async def check_publisher_list(r, w, role, env):
    body = r.json()
    by_id = {item["id"]: item for item in body["items"]}
    assert by_id.keys() == {
        w.owner_publisher.id,
        w.other_publisher.id,
        w.listed.publisher_id,
        w.banned.id,
    }
    assert body["total"] == 4
    owner = by_id[w.owner_publisher.id]
    assert (owner["owner_email"], owner["module_count"]) == (w.callers["owner"].email, 4)
    assert by_id[w.banned.id]["suspension_reason"] == "spam"


async def check_publisher_detail(r, w, role, env):
    body = r.json()
    assert body["id"] == w.owner_publisher.id and body["user_id"] == w.callers["owner"].id
    assert body["owner_email"] == w.callers["owner"].email and body["status"] == "active"
    assert body["modules_by_status"] == {"draft": 1, "pending": 1, "published": 2}
    assert body["revenue"] == SALE


async def check_publisher_verified(r, w, role, env):
    assert r.json()["verified"] is True
    stored = await _reload(env, Publisher, w.owner_publisher.id)
    assert stored.verified and stored.verification_date is not None
    assert await audited(env, "publisher.verify", w.owner_publisher.id) == [
        (w.callers[role].id, {"verified": True})
    ]
    assert [to for to, _ in await mail_of(env, "publisher_verified")] == [w.callers["owner"].email]


async def check_publisher_suspended(r, w, role, env):
    reason = "counterfeit listings"
    assert (r.json()["status"], r.json()["suspension_reason"]) == ("suspended", reason)
    stored = await _reload(env, Publisher, w.owner_publisher.id)
    assert (stored.status, stored.suspension_reason) == ("suspended", reason)
    assert await audited(env, "publisher.suspend", w.owner_publisher.id) == [
        (w.callers[role].id, {"status": ["active", "suspended"], "reason": reason})
    ]
    assert [to for to, _ in await mail_of(env, "publisher_suspended")] == [w.callers["owner"].email]
    page = await env.api.request("GET", f"{D}/publishers/{w.owner_publisher.slug}/modules")
    assert page.status_code == 404 and page.json()["error"] == "publisher_not_found", page.text


async def check_publisher_reinstated(r, w, role, env):
    assert (r.json()["id"], r.json()["status"]) == (w.banned.id, "active")
    stored = await _reload(env, Publisher, w.banned.id)
    assert (stored.status, stored.suspended_at, stored.suspension_reason) == ("active", None, None)
    [(actor, changes)] = await audited(env, "publisher.reinstate", w.banned.id)
    assert actor == w.callers[role].id
    assert (changes["status"], changes["note"]) == (["suspended", "active"], "appeal accepted")
    assert changes["suspension"]["reason"] == "spam"
    [(to, _)] = await mail_of(env, "publisher_reinstated")
    assert to == (await _reload(env, User, w.banned.user_id)).email
    profile = await env.api.request("GET", f"{D}/publishers/{w.banned.slug}")
    assert profile.status_code == 200 and profile.json()["slug"] == w.banned.slug, profile.text


async def check_platform_settings(r, w, role, env):
    body = r.json()
    assert [item["key"] for item in body] == list(PARSERS)
    assert all(item["is_default"] and item["updated_by"] is None for item in body)


async def check_settings_changed(r, w, role, env):
    admin = w.callers[role]
    old = env.api.settings.platform_defaults()["refund_window_days"]
    changed = {item["key"]: item for item in r.json()}["refund_window_days"]
    assert (changed["value"], changed["updated_by"]) == (30, admin.id)
    stored = await _reload(env, PlatformSetting, "refund_window_days")
    assert (stored.value, stored.updated_by) == (30, admin.id)
    assert await rows_of(env, PlatformSetting.key, where=[]) == [("refund_window_days",)]
    assert await audited(env, "platform_setting.update", "refund_window_days") == [
        (admin.id, {"old": old, "new": 30})
    ]


async def check_featured(r, w, role, env):
    """The released module goes on the front page, at place 3; audited."""
    module = r.json()["module"]
    assert (module["id"], module["featured_order"]) == (w.released.id, 3)
    stored = await _reload(env, MarketplaceModule, w.released.id)
    assert (stored.featured, stored.featured_order) == (True, 3)
    assert await audited(env, "module.feature", w.released.id) == [
        (
            w.callers[role].id,
            {
                "before": {"featured": False, "featured_order": None},
                "after": {"featured": True, "featured_order": 3},
            },
        )
    ]
    front = await env.api.request("GET", D + "/featured")
    assert w.released.id in [m["id"] for m in front.json()], front.text


async def check_unfeatured(r, w, role, env):
    module = r.json()["module"]
    assert (module["id"], module["featured_order"]) == (w.private.id, None)
    stored = await _reload(env, MarketplaceModule, w.private.id)
    assert stored.featured is False
    assert await audited(env, "module.unfeature", w.private.id) == [
        (w.callers[role].id, {"before": {"featured": True, "featured_order": None}})
    ]
    assert (await _reload(env, MarketplaceModule, w.listed.id)).featured, "only the one asked"


# --- payouts --------------------------------------------------------------------------


async def check_my_payouts(r, w, role, env):
    """One's own payouts only."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another publisher's payout leaked"
        return
    assert [p["id"] for p in body["items"]] == [w.payout.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["period"], item["status"], item["net_amount"], item["order_count"]) == (
        f"{last_month():%Y-%m}",
        "failed",
        "14.00",
        1,
    )
    assert item["failure_reason"] == PAYOUT_REFUSED


async def check_my_payout(r, w, role, env):
    """The payout with the order it covers, line by line as booked."""
    body = r.json()
    assert (body["id"], body["publisher_id"]) == (w.payout.id, w.owner_publisher.id)
    [order] = body["orders"]
    assert (order["order_id"], order["order_number"]) == (w.sale.id, w.sale.order_number)
    assert (order["gross"], order["commission"], order["net"]) == ("20.00", "6.00", "14.00")
    [line] = order["lines"]
    assert (line["module_id"], line["module"], line["kind"]) == (
        w.private.id,
        w.private.display_name,
        "sale",
    )


async def check_payout_settings(r, w, role, env):
    expected = {
        "owner": {"payout_method": "paypal", "paypal_email": "pay@owner.test"},
        "other_publisher": {"payout_method": "stripe", "paypal_email": None},
    }[role]
    assert r.json() == expected | {"stripe_account_id": None}


async def check_payout_settings_changed(r, w, role, env):
    """The caller's own settings change (a PayPal address kept), nobody else's; audited."""
    sent = json.loads(r.request.content)
    kept = "pay@owner.test" if role == "owner" else None
    assert r.json() == sent | {"paypal_email": kept}
    mine, theirs = (
        w.publisher_of(role),
        w.publisher_of("owner" if role == "other_publisher" else "other_publisher"),
    )
    stored = await _reload(env, Publisher, mine.id)
    assert (stored.payout_method, stored.stripe_account_id, stored.paypal_email) == (
        "stripe",
        sent["stripe_account_id"],
        kept,
    )
    untouched = await _reload(env, Publisher, theirs.id)
    assert (untouched.payout_method, untouched.stripe_account_id) == (
        theirs.payout_method,
        None,
    )
    assert await audited(env, "publisher.payout_settings", mine.id) == [(w.callers[role].id, sent)]


async def check_earnings_report(r, w, role, env):
    """The owner's ledger entry, with the payout that pays it; nothing of it to another."""
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    rows = list(csv.reader(StringIO(r.text)))
    assert rows[0] == list(EARNINGS_CSV_COLUMNS)
    if role != "owner":
        assert rows[1:] == [], "another publisher's earnings leaked"
        return
    assert rows[1:] == [
        [
            str(w.earning.occurred_at.date()),
            w.sale.order_number,
            w.private.display_name,
            "sale",
            "20.00",
            "6.00",
            "14.00",
            "USD",
            str(w.payout.id),
        ]
    ]


async def check_all_payouts(r, w, role, env):
    body = r.json()
    assert [p["id"] for p in body["items"]] == [w.payout.id] and body["total"] == 1
    assert body["items"][0]["publisher_id"] == w.owner_publisher.id


async def check_any_payout(r, w, role, env):
    body = r.json()
    assert (body["id"], body["publisher_id"], body["status"]) == (
        w.payout.id,
        w.owner_publisher.id,
        "failed",
    )
    assert (body["payout_method"], body["failure_reason"]) == ("paypal", PAYOUT_REFUSED)


async def check_month_started(r, w, role, env):
    """The month's run is started (no worker runs it here, and no entry is that old);
    audited; then ended and forgotten."""
    workflow_id = f"payouts-{RUN_PERIOD}"
    handle = env.temporal_client.get_workflow_handle(workflow_id)
    try:
        assert r.json() == {"period": RUN_PERIOD, "workflow_id": workflow_id, "started": True}
        assert await audited(env, "payout.run", RUN_PERIOD) == [
            (w.callers[role].id, {"started": True})
        ]
        assert (await handle.describe()).status.name == "RUNNING"
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [asked] = await env.temporal_client.data_converter.decode(
            started.input.payloads, [MonthlyPayoutsInput]
        )
        assert asked.period == RUN_PERIOD
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


async def check_marked_paid(r, w, role, env):
    """The failed payout is recorded as paid by hand; its publisher is told; audited."""
    reference = json.loads(r.request.content)["reference"]
    body = r.json()
    assert (body["id"], body["status"], body["reference"]) == (w.payout.id, "completed", reference)
    assert body["paid_at"] is not None and body["failure_reason"] is None
    stored = await _reload(env, PublisherPayout, w.payout.id)
    assert (stored.status, stored.payout_id) == ("completed", reference)
    assert await audited(env, "payout.mark_paid", w.payout.id) == [
        (w.callers[role].id, {"from": "failed", "reference": reference})
    ]
    assert await mail_of(env, "payout_completed") == [
        (w.callers["owner"].email, f"payout-{w.payout.id}-completed")
    ]


async def check_payout_retried(r, w, role, env):
    """The failed payout is pending again and its workflow started (no worker runs it);
    audited with the failure; then the workflow is ended and forgotten (its id is built
    from a row id, which a truncation hands out again)."""
    workflow_id = processes.Payout.workflow_id(w.owner_publisher.slug, f"{last_month():%Y-%m}")
    try:
        body = r.json()
        assert body["workflow_id"] == workflow_id
        assert (body["payout"]["id"], body["payout"]["status"]) == (w.payout.id, "pending")
        stored = await _reload(env, PublisherPayout, w.payout.id)
        assert (stored.status, stored.failure_reason) == ("pending", None)
        assert await audited(env, "payout.retry", w.payout.id) == [
            (w.callers[role].id, {"from": "failed", "failure": PAYOUT_REFUSED})
        ]
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


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
    ("POST", V): check_upload_accepted,
    ("GET", V): check_version_list,
    ("GET", V + "/{version}"): check_version_read,
    ("PUT", V + "/{version}"): check_version_notes,
    ("DELETE", V + "/{version}"): check_version_deprecated,
    ("GET", A + "/pending-versions"): check_held_versions,
    ("GET", DL): check_download,
    ("GET", DL + "/{version}"): check_download,
    ("GET", FILES): check_file_served,
    ("GET", D + "/signing-keys"): check_signing_keys,
    ("GET", L): check_my_licenses,
    ("GET", L + "/public-key"): check_license_public_keys,
    ("GET", L + "/{key}"): check_license_details,
    ("GET", L + "/{key}/offline"): check_offline_license,
    ("POST", L + "/{key}/verify"): check_verified,
    ("POST", L + "/{key}/activate"): check_activated,
    ("POST", L + "/{key}/deactivate"): check_deactivated,
    ("GET", CART): check_cart,
    ("POST", CART + "/add"): check_cart_added,
    ("DELETE", CART + "/{item_id}"): check_cart_item_removed,
    ("POST", CO): check_checkout_started,
    ("POST", CO + "/confirm"): check_confirmed,
    ("GET", ORD): check_my_orders,
    ("GET", ORD + "/{order_id}"): check_order_details,
    ("GET", ORD + "/{order_id}/invoice"): check_invoice,
    ("POST", ORD + "/{order_id}/refund"): check_refund_started,
    ("POST", D + "/modules/{slug}/trial"): check_trial_started,
    ("GET", SUB): check_subscription,
    ("POST", CP): check_coupon_created,
    ("GET", CP): check_coupon_list,
    ("GET", CP + "/{coupon_id}"): check_coupon_read,
    ("PUT", CP + "/{coupon_id}"): check_coupon_updated,
    ("DELETE", CP + "/{coupon_id}"): check_coupon_deactivated,
    ("GET", REV): check_reviews_listed,
    ("POST", REV): check_review_written,
    ("PUT", RV): check_review_rewritten,
    ("DELETE", RV): check_review_deleted,
    ("POST", RV + "/vote"): check_voted,
    ("DELETE", RV + "/vote"): check_vote_removed,
    ("POST", RV + "/report"): check_reported,
    ("GET", P + "/reviews"): check_publisher_reviews,
    ("PUT", PR): check_response_written,
    ("DELETE", PR): check_response_removed,
    ("GET", RR): check_report_queue,
    ("POST", ARV + "/hide"): check_review_hidden,
    ("POST", ARV + "/restore"): check_review_restored,
    ("POST", RR + "/{report_id}/resolve"): check_report_resolved,
    ("POST", RR + "/{report_id}/dismiss"): check_report_dismissed,
    ("GET", PA + "/overview"): check_overview,
    ("GET", PA + "/downloads"): check_download_figures,
    ("GET", PA + "/revenue"): check_revenue,
    ("GET", PA + "/reviews"): check_review_figures,
    ("GET", A + "/analytics"): check_platform_figures,
    ("GET", AP): check_publisher_list,
    ("GET", AP + "/{publisher_id}"): check_publisher_detail,
    ("POST", AP + "/{publisher_id}/verify"): check_publisher_verified,
    ("POST", AP + "/{publisher_id}/suspend"): check_publisher_suspended,
    ("POST", AP + "/{publisher_id}/reinstate"): check_publisher_reinstated,
    ("GET", A + "/settings"): check_platform_settings,
    ("PUT", A + "/settings"): check_settings_changed,
    ("POST", A + "/modules/{module_id}/feature"): check_featured,
    ("POST", A + "/modules/{module_id}/unfeature"): check_unfeatured,
    ("GET", PO): check_my_payouts,
    ("GET", PO + "/{payout_id}"): check_my_payout,
    ("GET", PO + "/settings"): check_payout_settings,
    ("POST", PO + "/settings"): check_payout_settings_changed,
    ("GET", PO + "/earnings.csv"): check_earnings_report,
    ("GET", APO): check_all_payouts,
    ("GET", APO + "/{payout_id}"): check_any_payout,
    ("POST", APO + "/runs"): check_month_started,
    ("POST", APO + "/{payout_id}/mark-paid"): check_marked_paid,
    ("POST", APO + "/{payout_id}/retry"): check_payout_retried,
}


# --- the cells --------------------------------------------------------------------------


def cells(*, via_worker: bool, table=MATRIX, under: str = ""):
    for (method, path), outcomes in table.items():
        for role, outcome in zip(ROLES, outcomes, strict=True):
            if outcome.via_worker is via_worker and path.startswith(under):
                yield pytest.param(
                    method, path, role, outcome, id=f"{method} {path} | {role} -> {outcome}"
                )


async def ask(api, make, db, temporal_dev, shelf, method, path, role, expected, downloads_of=None):
    """One cell: the call, then its effect (allowed) or its error and an unchanged database."""
    world = await build_world(db, shelf)
    before = await snapshot(db)

    response = await api.request(
        method,
        url_of(path, world, downloads_of and getattr(world, downloads_of), method),
        as_user=world.callers[role],
        **body_of(method, path, world),
    )

    assert response.status_code == expected.status, response.text
    if expected.allowed:
        env = Env(
            api=api,
            make=make,
            temporal_client=temporal_dev.client,
            storage=shelf.storage,
            license_keys=shelf.license_keys,
        )
        await CHECKS[(method, path)](response, world, role, env)
        return
    assert response.json()["error"] == expected.error, response.text
    if expected.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert await snapshot(db) == before, "a refused call changed the database"


@pytest.mark.parametrize(("method", "path", "role", "expected"), list(cells(via_worker=False)))
async def test_access(api, make, db, temporal_dev, shelf, method, path, role, expected):
    await ask(api, make, db, temporal_dev, shelf, method, path, role, expected)


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"),
    list(cells(via_worker=False, table=UNPUBLISHED_DOWNLOADS)),
)
async def test_download_of_an_unpublished_module(
    api, make, db, temporal_dev, shelf, method, path, role, expected
):
    await ask(api, make, db, temporal_dev, shelf, method, path, role, expected, "draft")


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("method", "path", "role", "expected"), list(cells(via_worker=True, under=A + "/modules/"))
)
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


async def held_for_review(api, admin, version_id: int) -> dict:
    """Wait until the admin's queue shows the version (the pipeline has held it)."""
    async with asyncio.timeout(30):
        while True:
            queue = await api.request("GET", A + "/pending-versions", as_user=admin)
            assert queue.status_code == 200, queue.text
            held = [v for v in queue.json()["items"] if v["id"] == version_id]
            if held:
                return held[0]
            await asyncio.sleep(0.1)


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("method", "path", "role", "expected"), list(cells(via_worker=True, under=A + "/versions/"))
)
async def test_access_decided_in_manual_review(
    committed_api, make_committed, committed, settings, temporal_dev, method, path, role, expected
):
    """Approve/reject of a version reach the ingestion workflow that holds it: the sample
    is uploaded to a published module while the vulnerability service is down, so the
    pipeline waits for a person; the admin decides, and the pipeline finishes."""
    assert role == "admin", "only an admin's decision should reach the workflow"
    admin = await make_committed.admin()
    owner, publisher = await make_committed.publisher()
    async with committed() as session:
        module = MarketplaceModule(
            publisher_id=publisher.id,
            technical_name=archives.TECHNICAL_NAME,
            slug=unique("hello"),  # workflow ids, built from it, outlive the rows
            display_name="Hello FastVue",
            short_description="A greeting widget for FastVue dashboards.",
            status=ModuleStatus.PUBLISHED,
        )
        session.add(module)
        await session.commit()
    approve = path.endswith("/approve")
    payload = {"note": "audited by hand"} if approve else {"reason": "no docs"}

    with osv_fake() as osv:
        osv.mode = "down"
        worker_settings = settings.model_copy(update={"osv_url": osv.url})
        async with build_worker(temporal_dev.client, worker_settings, committed):
            uploaded = await committed_api.request(
                "POST",
                f"{M}/{module.id}/versions",
                as_user=owner,
                files={"file": ("package.zip", archives.sample_zip(), "application/zip")},
            )
            assert uploaded.status_code == 202, uploaded.text
            version_id = uploaded.json()["version"]["id"]
            handle = temporal_dev.client.get_workflow_handle(uploaded.json()["workflow_id"])
            try:
                held = await held_for_review(committed_api, admin, version_id)
                response = await committed_api.request(
                    method, path.format(version_id=version_id), as_user=admin, json=payload
                )
                assert response.status_code == expected.status, response.text
                async with asyncio.timeout(60):
                    await handle.result()  # the pipeline ends, either way
            finally:
                with contextlib.suppress(Exception):
                    await handle.terminate("test done")

    assert [r["code"] for r in held["rejection_reasons"]] == ["audit_unavailable"]
    assert response.json()["version"]["id"] == version_id
    stored = await make_committed.reload(ModuleVersion, version_id)
    if approve:
        assert response.json()["status"] == "processing", "approved: the pipeline goes on"
        assert stored.status == "published" and stored.is_latest
        assert stored.rejection_reasons == [], "published: the hold reason is gone"
        assert stored.zip_file_url == storage_key(archives.TECHNICAL_NAME, "1.0.0")
        assert stored.signature and stored.signature_key_id
    else:
        assert response.json()["status"] == "rejected"
        assert response.json()["version"]["status"] == "rejected"
        assert stored.status == "rejected"
        reasons = stored.rejection_reasons
        assert [r["code"] for r in reasons] == ["audit_unavailable", "rejected_by_admin"]
        assert reasons[-1]["detail"] == "no docs"


async def loaded(handle) -> None:
    """Wait until the subscription workflow has read its billing row: before that it
    refuses updates."""
    async with asyncio.timeout(20):
        while (await handle.query(SubscriptionWorkflow.view)).period_number != 1:
            await asyncio.sleep(0.05)


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("method", "path", "role", "expected"), list(cells(via_worker=True, under=SUB))
)
async def test_access_decided_by_the_subscription_workflow(
    committed_api, make_committed, committed, settings, temporal_dev, method, path, role, expected
):
    """Cancel/resume are updates the subscription workflow answers: the owner's monthly
    subscription (cancelled already, to resume it) runs on a worker that sees the committed
    rows. Its license id is one no truncation hands out (they restart at 1), so the
    workflow id has never been used."""
    assert role == "owner", "only the license's owner should reach the workflow"
    owner, _ = await make_committed.publisher()
    _, shop = await make_committed.publisher()
    module = await make_committed.module(
        shop,
        ModuleStatus.PUBLISHED,
        license_type="subscription",
        subscription_period="monthly",
        price=Decimal("9.00"),
    )
    resume = path.endswith("/resume")
    start = datetime.now(UTC) - timedelta(days=2)
    key, row = subscription_license(owner, module, start, id=10**9 + uuid.uuid4().int % 10**9)
    async with committed() as session:
        session.add(row)
        await session.flush()
        session.add(subscription_of(row, module, start, cancelled=resume))
        await session.commit()

    handle = temporal_dev.client.get_workflow_handle(row.subscription_id)
    async with build_worker(temporal_dev.client, settings, committed):
        try:
            await subscription_service.start_subscription(
                front_door(temporal_dev.client, settings), row.id, row.subscription_id
            )
            await loaded(handle)
            response = await committed_api.request(method, path.format(key=key), as_user=owner)
            assert response.status_code == expected.status, response.text
            view = await handle.query(SubscriptionWorkflow.view)
        finally:
            await forget_workflow(temporal_dev.client, handle.id)

    body = response.json()
    assert body["license_id"] == row.id and body["status"] == "active"
    assert body["cancel_at_period_end"] is not resume
    assert view.cancel_at_period_end is not resume, "the workflow knows"
    async with committed() as session:
        stored = await session.scalar(select(Subscription).where(Subscription.license_id == row.id))
    assert stored.status == "active" and stored.cancel_at_period_end is not resume
    assert (stored.cancelled_at is None) is resume
    assert (await make_committed.reload(License, row.id)).status == "active", "valid till the end"


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
    assert UNPUBLISHED_DOWNLOADS.keys() <= MATRIX.keys()
    for (method, path), outcomes in [*MATRIX.items(), *UNPUBLISHED_DOWNLOADS.items()]:
        assert len(outcomes) == len(ROLES)
        needs_check = any(o.allowed and not o.via_worker for o in outcomes)
        assert not needs_check or (method, path) in CHECKS, f"no check for {method} {path}"
        workers = any(o.via_worker for o in outcomes)
        decided = path.startswith((A + "/modules/", A + "/versions/", SUB))
        assert not workers or decided, f"no worker test runs {method} {path}"
