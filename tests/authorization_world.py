"""The world the authorization matrix's cells run in, and how one cell is asked.

The policy (which caller may call which route, and what a refusal looks like) is the table
in ``test_authorization_matrix``, which also asks every refused cell. What an allowed call
must have done is checked beside each domain's API tests, in ``test_<domain>_authorization``
modules, which ask the table's allowed cells of their routes.

Each test module builds the world once (``world``), in a transaction on one connection held
for the module (``world_connection``) and rolled back at its end; each cell (``cell``) runs
inside a SAVEPOINT on that connection, rolled back after the cell, so a cell sees the world
exactly as built, whatever the cells before it did. Sequences are not rolled back: ids are
never handed out twice, which is what keeps ids in Temporal (built from row ids or order
numbers) apart between cells; the one id an allowed call would otherwise reuse, a refund's
(built from the order number), is made new for every cell (``PREPARE``).

Callers: nobody signed in, a consumer, a publisher who does not own the resources, the
publisher who owns them (the module, the API token), and an admin without a publisher
profile. Every caller's address is verified but the consumer's: it holds an unspent
verification code, so it alone may ask for another and cannot become a publisher yet
(the admin can). The owner holds an unspent password reset code; either code is the
credential of its route, whoever sends it. Admins disable the consumer and enable
``disabled``, an account (no caller) disabled three days ago. Module endpoints act on a
draft owned by the owner; approve/reject act on a pending module owned by the owner. The
admin's approve/reject cells need a worker to see the rows, so they run on committed data
with a real worker (``via_worker``).

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
the settled order it answers with the order and asks no workflow. Cancelling a pending
payment is the buyer's alone too (an admin finds no such order among theirs); its cells
act on the order as if its buyer had cancelled it before (``PREPARE``), so the buyer's
cancel answers it unchanged and asks no workflow.

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

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

from domain import processes
from domain.access import Role
from domain.checkout import add_period, new_order_number
from domain.licensing import license_key_hash, new_license_key
from domain.modules import ModuleStatus, SubscriptionPeriod
from integrations.download_links import DownloadLinks, LinkClaims
from integrations.license_signing import LicenseKeyRing
from integrations.license_vault import LicenseVault
from integrations.storage import LocalStorage
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
from models.module import ListingRevision, MarketplaceCategory, MarketplaceModule
from models.platform import AuditLogEntry, NotificationOutbox
from models.publisher import Publisher
from models.review import ModuleReview, ReviewReport, ReviewVote
from models.user import ApiToken, EmailToken, User
from services import credentials as security
from tests import archives
from tests.conftest import Api
from tests.factories import PASSWORD, unique

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
NOLREV = Outcome(404, "no_revision")  # the owner's draft never had a listing revision
NOPAY = Outcome(404, "payout_not_found")  # another publisher's payout likewise
UNVER = Outcome(403, "email_not_verified")  # an unverified address cannot become a publisher
VERIF = Outcome(409, "already_verified")  # no new code for an address already verified

AU = "/api/v1/auth"
P = "/api/v1/publisher"
M = "/api/v1/publisher/modules"
C = "/api/v1/admin/marketplace/categories"
A = "/api/v1/admin/marketplace"
D = "/api/v1/marketplace"
V = M + "/{module_id}/versions"
DL = D + "/modules/{slug}/download"
FILES = D + "/files/{key:path}"
FETCH = D + "/fetch/{version_id}"
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
ACC = A + "/accounts"
PAYOUT_REFUSED = "receiver_unconfirmed: the PayPal account is not confirmed"
RUN_PERIOD = "2000-01"  # the first month there is: no ledger entry is that old


# --- the world ----------------------------------------------------------------------------


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
    download_links: DownloadLinks  # the app's, which signs our download links


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
    revision: ListingRevision  # released's listing changes, pending review
    archives: dict[str, Archive]  # what each of ``versions`` stores, by number
    files_link: str  # a valid signed link (path and query) to the 1.2.0 archive
    fetch_link: str  # our valid download link (path and query) to 1.2.0, made for nobody
    license: License  # the owner's, for ``listed``: 2 seats, one held by ``seat``
    license_key: str  # its key, in full
    seat: LicenseActivation  # instance "inst-1" on SEAT_DOMAIN, last checked an hour ago
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
    disabled: User  # an account (no caller) an admin disabled three days ago
    verify_token: str  # mailed to the consumer (whose address is not verified yet), unspent
    reset_token: str  # a password reset code mailed to the owner, unspent

    def publisher_of(self, role: str) -> Publisher | None:
        return {"owner": self.owner_publisher, "other_publisher": self.other_publisher}.get(role)


_PASSWORD_HASH = security.hash_password(PASSWORD)
GOOD_CARD = "4242424242424242"  # the local gateway's test card that pays


def signed_link(storage: LocalStorage, archive: Archive) -> str:
    """A download link the files route accepts, as path and query."""
    url = storage.download_url(archive.key, expires_in=timedelta(minutes=5), filename="m.zip")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def download_link(links: DownloadLinks, version_id: int) -> str:
    """One of our download links, made for nobody, as path and query."""
    url = links.url(
        LinkClaims(version_id, None, None), now=datetime.now(UTC), expires_in=timedelta(hours=1)
    )
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
            email_verified_at=datetime.now(UTC),
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

    consumer = user(Role.CONSUMER)
    consumer.email_verified_at = None  # never confirmed the address it registered with
    callers = {
        "anonymous": None,
        "consumer": consumer,
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
    disabled = user(Role.CONSUMER)
    disabled.is_active, disabled.disabled_reason = False, "chargeback fraud"
    disabled.disabled_at, disabled.token_version = datetime.now(UTC) - timedelta(days=3), 1
    verify_token, verify_hash = security.new_email_token()
    reset_token, reset_hash = security.new_email_token()
    async with sessions() as session:
        session.add_all(
            [u for u in callers.values() if u is not None]
            + [banned_owner, disabled, category, token]
        )
        await session.flush()
        in_a_while = datetime.now(UTC) + timedelta(hours=1)
        session.add_all(
            [
                EmailToken(
                    user_id=consumer.id,
                    purpose="verify_email",
                    token_hash=verify_hash,
                    email=consumer.email,
                    expires_at=in_a_while,
                ),
                EmailToken(
                    user_id=callers["owner"].id,
                    purpose="reset_password",
                    token_hash=reset_hash,
                    email=callers["owner"].email,
                    expires_at=in_a_while,
                ),
            ]
        )
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
        revision = ListingRevision(
            module=released,
            key=uuid.uuid4().hex,
            changes={"description": "Proposed by the owner."},
            status="pending",
            submitted_by=callers["owner"].id,
        )
        session.add(revision)
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
        revision=revision,
        archives=shelf.archives,
        files_link=signed_link(shelf.storage, shelf.archives["1.2.0"]),
        fetch_link=download_link(shelf.download_links, versions["1.2.0"].id),
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
        disabled=disabled,
        verify_token=verify_token,
        reset_token=reset_token,
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


SEAT_DOMAIN = "one.example.com"
"""The domain ``inst-1`` was activated for."""


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
        domain=SEAT_DOMAIN,
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
    if path == FETCH:
        return world.fetch_link
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
    return path.replace("{rest:path}", "some/page").format(
        name="app-test.js",
        module_id=(featured or (world.pending if decided else world.draft)).id,
        category_id=world.category.id,
        token_id=world.token_id,
        slug=slugged.slug,
        version="1.1.0" if download and downloads_of is world.released else "0.9.0",
        version_id=world.held.id,
        revision_id=world.revision.id,
        key=world.sub_key if path.startswith(SUB) else world.license_key,
        item_id=world.cart_item.id,
        order_id=world.order.id,
        coupon_id=world.coupon.id,
        review_id=review.id,
        report_id=world.report.id,
        publisher_id=(world.banned if path.endswith("/reinstate") else world.owner_publisher).id,
        payout_id=world.payout.id,
        user_id=(world.disabled if path.endswith("/enable") else world.callers["consumer"]).id,
    )


def body_of(method: str, path: str, world: World) -> dict:
    """The request payload for an endpoint: always a valid one, so only access decides."""
    tag = uuid.uuid4().hex[:8]
    seat = {"instance_id": "inst-1", "domain": SEAT_DOMAIN}
    payloads = {
        ("POST", AU + "/register"): {
            "json": {"email": f"matrix-{tag}@example.com", "password": PASSWORD}
        },
        ("POST", AU + "/token"): {
            "data": {"username": world.callers["owner"].email, "password": PASSWORD}
        },
        ("POST", AU + "/tokens"): {"json": {"name": "matrix", "scopes": ["account"]}},
        ("POST", AU + "/verify-email"): {"json": {"token": world.verify_token}},
        ("POST", AU + "/password"): {
            "json": {"current_password": PASSWORD, "new_password": f"new password {tag}"}
        },
        ("POST", AU + "/password-reset"): {"json": {"email": f"matrix-{tag}@example.com"}},
        ("POST", AU + "/password-reset/confirm"): {
            "json": {"token": world.reset_token, "new_password": f"new password {tag}"}
        },
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
        ("POST", A + "/revisions/{revision_id}/approve"): {"json": {"note": "fine"}},
        ("POST", A + "/revisions/{revision_id}/reject"): {"json": {"reason": "misleading"}},
        ("GET", DL + "/{version}"): {"params": {"redirect": "false"}},
        ("POST", L + "/{key}/verify"): {"json": {**seat, "nonce": f"matrix-nonce-{tag}"}},
        ("POST", L + "/{key}/activate"): {
            "json": {
                "instance_id": "inst-x",
                "domain": "shop.example.com",
                "nonce": f"matrix-nonce-{tag}",
            }
        },
        ("POST", L + "/{key}/deactivate"): {"json": {**seat, "nonce": f"matrix-nonce-{tag}"}},
        ("GET", L + "/{key}/offline"): {"params": seat},
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
        ("POST", ACC + "/{user_id}/disable"): {"reason": "sells stolen licenses"},
        ("POST", ACC + "/{user_id}/enable"): {"note": "chargeback withdrawn"},
        ("PUT", A + "/settings"): {"refund_window_days": 30},
        ("POST", A + "/modules/{module_id}/feature"): {"order": 3},
        ("POST", PO + "/settings"): {
            "current_password": PASSWORD,
            "payout_method": "stripe",
            "stripe_account_id": f"acct_{tag}",
        },
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


async def reload(env: Env, model, key):
    return await env.make.reload(model, key)


# --- what the domains' checks share ---------------------------------------------------


async def cart_rows(env, user: User) -> list[tuple[int, int]]:
    """(id, module_id) of the user's stored cart lines."""
    async with env.make.sessions() as session:
        rows = await session.execute(
            select(CartItem.id, CartItem.module_id)
            .where(CartItem.user_id == user.id)
            .order_by(CartItem.id)
        )
        return [tuple(row) for row in rows.all()]


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


async def rows_of(env, *columns, where) -> list[tuple]:
    async with env.make.sessions() as session:
        return [tuple(row) for row in (await session.execute(select(*columns).where(*where)))]


async def rating_of(env, module: MarketplaceModule) -> tuple[Decimal | None, int]:
    stored = await reload(env, MarketplaceModule, module.id)
    return stored.rating_average, stored.rating_count


async def mail_of(env, kind: str) -> list[tuple[str, str]]:
    """(recipient, dedupe key) of the mail of one kind waiting in the outbox."""
    return await rows_of(
        env,
        NotificationOutbox.to_email,
        NotificationOutbox.dedupe_key,
        where=[NotificationOutbox.kind == kind],
    )


SALE = [{"currency": "USD", "gross": "20.00", "commission": "6.00", "net": "14.00"}]


# --- one cell ------------------------------------------------------------------------------

Table = Mapping[tuple[str, str], tuple[Outcome, ...]]
CELL_ARGS = ("method", "path", "role", "expected")


def cells(
    table: Table,
    *,
    allowed: bool | None = None,
    via_worker: bool = False,
    routes: Iterable[tuple[str, str]] | None = None,
    under: str = "",
):
    """The table's cells as test parameters: allowed ones, refused ones or (None) both; only
    those a worker decides (``via_worker``) or only the others; of ``routes`` (default: every
    row) and under a path prefix."""
    wanted = None if routes is None else set(routes)
    for (method, path), outcomes in table.items():
        if wanted is not None and (method, path) not in wanted:
            continue
        for role, outcome in zip(ROLES, outcomes, strict=True):
            if (
                outcome.via_worker is via_worker
                and (allowed is None or outcome.allowed is allowed)
                and path.startswith(under)
            ):
                yield pytest.param(
                    method, path, role, outcome, id=f"{method} {path} | {role} -> {outcome}"
                )


def sessions_on(connection: AsyncConnection) -> async_sessionmaker:
    """Sessions on the module's connection, each inside a savepoint of its own (as the app
    commits, it releases its savepoint: the rows stay in the enclosing transaction)."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


async def fresh_order_number(sessions, world: World) -> None:
    """A refund's workflow id is built from the order number and is never started twice
    (rolled-back rows do not take it back): each cell refunds the order under a new one."""
    async with sessions() as session:
        order = await session.get(Order, world.order.id)
        order.order_number = new_order_number(order.paid_at)
        await session.commit()


async def cancelled_before(sessions, world: World) -> None:
    """The owner's order as its buyer's cancel of a pending payment leaves it: a cancel
    again changes nothing and no checkout workflow is asked (none runs here)."""
    async with sessions() as session:
        order = await session.get(Order, world.order.id)
        order.status, order.failure_code = "cancelled", "cancelled_by_buyer"
        order.paid_at, order.payment_status = None, "canceled"
        await session.commit()


PREPARE: dict[tuple[str, str], Callable[[async_sessionmaker, World], Awaitable[None]]] = {
    ("POST", ORD + "/{order_id}/refund"): fresh_order_number,
    ("POST", ORD + "/{order_id}/cancel"): cancelled_before,
}
"""What a cell changes in its savepoint before the call, for effects outside the database."""


@dataclass
class Cell:
    """One cell's view: the app on a savepoint of the module's world."""

    api: Api
    env: Env
    world: World
    world_rows: dict
    sessions: async_sessionmaker

    async def ask(
        self,
        method: str,
        path: str,
        role: str,
        expected: Outcome,
        check: Check | None = None,
        downloads_of: str | None = None,
    ) -> httpx.Response:
        """The call, then its effect (allowed: ``check``) or its error and an unchanged
        database (refused)."""
        world = self.world
        before = self.world_rows
        prepare = PREPARE.get((method, path))
        if prepare is not None:
            await prepare(self.sessions, world)
            before = await snapshot(self.sessions)
        response = await self.api.request(
            method,
            url_of(path, world, downloads_of and getattr(world, downloads_of), method),
            as_user=world.callers[role],
            **body_of(method, path, world),
        )

        assert response.status_code == expected.status, response.text
        if expected.allowed:
            assert check is not None, f"no check for the allowed {method} {path}"
            await check(response, world, role, self.env)
            return response
        assert response.json()["error"] == expected.error, response.text
        if expected.status == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        assert await snapshot(self.sessions) == before, "a refused call changed the database"
        return response
