"""What the viewer of a module's page may do with it (``domain.viewer`` decides; this
gathers the facts): download it free, add it to the cart, buy it now, start its trial,
or see that they own it, with the license."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.licensing import LicenseStatus, license_covers_version
from domain.modules import LicenseType, ModuleStatus, Visibility
from domain.viewer import NoReview, ViewerActions, ViewerFacts, review_refusal, viewer_actions
from models.commerce import License, Order
from models.module import MarketplaceModule
from models.repositories import cart, downloads, orders, reviews
from models.repositories.listed import SUSPENDED
from services.catalog import viewable_module
from services.checkout import PENDING_GRACE


@dataclass(frozen=True)
class ModuleViewer:
    module: MarketplaceModule
    signed_in: bool
    actions: ViewerActions
    license: License | None
    """The viewer's live license of the module (the newest), if any."""
    cart_item_id: int | None
    pending_order: Order | None
    trial_offered: bool
    trial_used: bool
    review_refused: NoReview | None
    """Why the viewer may not write a review (None: they may)."""
    own_review_id: int | None
    """The viewer's review of the module (published or hidden), if they wrote one."""


def _live(held: License, now: datetime) -> bool:
    return held.status == LicenseStatus.ACTIVE and (
        held.expires_at is None or held.expires_at > now
    )


async def module_viewer(session: AsyncSession, slug: str, viewer_id: int | None) -> ModuleViewer:
    """The module ``slug`` as ``viewer_id`` (None: anonymous) may see it, and what they may
    do with it; a module they may not see is not found."""
    module = await viewable_module(session, slug, viewer_id)
    now = datetime.now(UTC)
    latest = await downloads.downloadable_version(session, module.id, None)
    has_release = (
        latest is not None and latest.zip_file_hash is not None and latest.signature is not None
    )
    held: list[License] = []
    cart_item_id, cart_currency_differs, pending = None, False, None
    own_review = None
    if viewer_id is not None:
        held = await cart.user_licenses(session, viewer_id, module.id)
        for item, in_cart, _ in await cart.lines(session, viewer_id):
            if in_cart.id == module.id:
                cart_item_id = item.id
            elif in_cart.currency != module.currency:
                cart_currency_differs = True
        pending = await orders.pending_with_modules(
            session, viewer_id, [module.id], now - PENDING_GRACE
        )
        own_review = await reviews.of_user(session, module.id, viewer_id)
    live = sorted(
        (row for row in held if _live(row, now)), key=lambda row: (row.created_at, row.id)
    )
    license = live[-1] if live else None
    covers_latest = latest is not None and any(
        license_covers_version(LicenseStatus(row.status), row.expires_at, latest.published_at, now)
        for row in held
    )
    trial_offered = bool(module.trial_days and module.subscription_period)
    trial_used = any(row.trial_started_at is not None for row in held)
    facts = ViewerFacts(
        license_type=LicenseType(module.license_type),
        for_sale=module.status == ModuleStatus.PUBLISHED
        and module.visibility != Visibility.PRIVATE
        and module.publisher.status != SUSPENDED,
        has_release=has_release,
        signed_in=viewer_id is not None,
        is_owner=viewer_id is not None and viewer_id == module.publisher.user_id,
        holds_live_license=license is not None,
        license_covers_latest=covers_latest,
        in_cart=cart_item_id is not None,
        cart_currency_differs=cart_currency_differs,
        checkout_pending=pending is not None,
        trial_offered=trial_offered,
        trial_used=trial_used,
    )
    return ModuleViewer(
        module=module,
        signed_in=viewer_id is not None,
        actions=viewer_actions(facts),
        license=license,
        cart_item_id=cart_item_id,
        pending_order=pending,
        trial_offered=trial_offered,
        trial_used=trial_used,
        review_refused=review_refusal(
            signed_in=viewer_id is not None,
            is_owner=facts.is_owner,
            has_reviewed=own_review is not None,
        ),
        own_review_id=own_review.id if own_review else None,
    )
