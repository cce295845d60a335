"""What a viewer may do with a module on its page, decided once here from the facts the
service gathers, so that no page repeats a business rule.

The actions: ``free_download`` (a free module with a release), ``add_to_cart`` and
``buy_now`` (a paid or subscription module for sale, not owned, not the viewer's own;
buying now puts it in the cart and goes to checkout, so it too needs a cart of the same
currency),
``start_trial`` (a module offering a trial the viewer has not used), ``download`` (the
viewer's license, or their own module, covers the latest release). An anonymous viewer is
offered what an account could do, with ``sign_in_required``; ``reason`` says in a code why
nothing can be bought when that is so.
"""

from dataclasses import dataclass
from enum import StrEnum

from domain.modules import LicenseType


class NotForSale(StrEnum):
    """Why a module offers no purchase to this viewer."""

    FREE = "module_is_free"
    OWN_MODULE = "own_module"
    ALREADY_LICENSED = "already_licensed"
    NOT_FOR_SALE = "not_for_sale"
    """Not published, private, or its publisher suspended (its own publisher still sees it)."""
    CHECKOUT_PENDING = "checkout_pending"
    """An order of the viewer holding it waits for its payment: confirm that one."""
    MIXED_CURRENCIES = "mixed_currencies"
    """The cart holds modules priced in another currency (buying it alone still works)."""


@dataclass(frozen=True)
class ViewerFacts:
    license_type: LicenseType
    for_sale: bool
    """Published, not private, of a publisher not suspended."""
    has_release: bool
    """A latest version with its hash and signature, to download."""
    signed_in: bool
    is_owner: bool
    holds_live_license: bool
    license_covers_latest: bool
    in_cart: bool
    cart_currency_differs: bool
    checkout_pending: bool
    trial_offered: bool
    trial_used: bool


@dataclass(frozen=True)
class ViewerActions:
    free_download: bool
    add_to_cart: bool
    buy_now: bool
    start_trial: bool
    download: bool
    sign_in_required: bool
    """Anonymous: the purchase and trial actions offered need an account first."""
    reason: NotForSale | None


def viewer_actions(facts: ViewerFacts) -> ViewerActions:
    free = facts.license_type is LicenseType.FREE
    reason: NotForSale | None = None
    if free:
        reason = NotForSale.FREE
    elif facts.is_owner:
        reason = NotForSale.OWN_MODULE
    elif facts.holds_live_license:
        reason = NotForSale.ALREADY_LICENSED
    elif not facts.for_sale:
        reason = NotForSale.NOT_FOR_SALE
    elif facts.checkout_pending:
        reason = NotForSale.CHECKOUT_PENDING
    purchasable = reason is None
    blocked_by_cart = not facts.in_cart and facts.cart_currency_differs
    if purchasable and blocked_by_cart:
        reason = NotForSale.MIXED_CURRENCIES
    trial = purchasable and facts.trial_offered and not facts.trial_used
    return ViewerActions(
        free_download=free and facts.has_release and (facts.for_sale or facts.is_owner),
        add_to_cart=purchasable and not facts.in_cart and not blocked_by_cart,
        buy_now=purchasable and not blocked_by_cart,
        start_trial=trial,
        download=facts.has_release
        and not free
        and (facts.is_owner or (facts.signed_in and facts.license_covers_latest)),
        sign_in_required=not facts.signed_in and (purchasable or trial),
        reason=reason,
    )


class NoReview(StrEnum):
    """Why the viewer may not write a review of the module."""

    SIGN_IN_REQUIRED = "sign_in_required"
    OWN_MODULE = "own_module"
    ALREADY_REVIEWED = "already_reviewed"


def review_refusal(*, signed_in: bool, is_owner: bool, has_reviewed: bool) -> NoReview | None:
    """The rules of ``POST /modules/{slug}/reviews`` (``services.reviews.submit_review``) as
    the module's page asks them: an account that does not publish the module writes one
    review of it. None: it may write one."""
    if not signed_in:
        return NoReview.SIGN_IN_REQUIRED
    if is_owner:
        return NoReview.OWN_MODULE
    if has_reviewed:
        return NoReview.ALREADY_REVIEWED
    return None
