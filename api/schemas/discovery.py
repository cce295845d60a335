"""The public catalogue: modules as lists and pages show them, public versions,
publisher profiles, search results."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import InCurrency, Money, Page
from domain.module_signature import SignatureFormat
from domain.modules import LicenseType, SubscriptionPeriod, Visibility
from domain.viewer import NoReview, NotForSale


class CategoryRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str


class PublisherRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    display_name: str
    verified: bool
    logo_url: str | None


class ModuleSummary(InCurrency):
    """A module as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    technical_name: str
    display_name: str
    short_description: str
    icon_url: str | None
    category: CategoryRef | None
    publisher: PublisherRef
    license_type: LicenseType
    price: Money | None
    currency: str
    subscription_period: SubscriptionPeriod | None
    trial_days: int | None
    tags: list[str]
    rating_average: Decimal | None
    rating_count: int
    download_count: int
    featured: bool


class TrendingModule(ModuleSummary):
    recent_downloads: int = Field(description="Downloads in the last 7 days")


class LatestVersion(BaseModel):
    """The newest published version: what to download and how to check it."""

    model_config = ConfigDict(from_attributes=True)

    version: str
    sha256: str | None = Field(validation_alias="zip_file_hash")
    size: int | None = Field(validation_alias="zip_file_size")
    signature: str | None
    signature_key_id: str | None
    signature_format: SignatureFormat = Field(
        description="What the signature covers: fastvue-module-signature/v2 signs "
        "signed_statement; archive-sha256/v1 (versions signed before statements) the "
        "archive's SHA-256 only"
    )
    signed_statement: str | None = Field(
        description="The exact text (UTF-8) a v2 signature covers: module slug, technical "
        "name, version and the archive's SHA-256; null for v1"
    )
    min_fastvue_version: str | None
    max_fastvue_version: str | None
    is_prerelease: bool
    published_at: datetime | None


class ModuleDetail(ModuleSummary):
    description: str | None
    banner_url: str | None
    video_url: str | None
    screenshots: list[dict[str, Any]]
    keywords: list[str]
    visibility: Visibility
    install_count: int
    created_at: datetime
    updated_at: datetime
    latest_version: LatestVersion | None


class PublicVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: str
    status: str = Field(description="published or deprecated")
    is_latest: bool
    is_prerelease: bool
    changelog: str | None
    release_notes: str | None
    min_fastvue_version: str | None
    max_fastvue_version: str | None
    sha256: str | None = Field(validation_alias="zip_file_hash")
    size: int | None = Field(validation_alias="zip_file_size")
    signature: str | None
    signature_key_id: str | None
    signature_format: SignatureFormat = Field(
        description="What the signature covers: fastvue-module-signature/v2 signs "
        "signed_statement; archive-sha256/v1 (versions signed before statements) the "
        "archive's SHA-256 only"
    )
    signed_statement: str | None = Field(
        description="The exact text (UTF-8) a v2 signature covers: module slug, technical "
        "name, version and the archive's SHA-256; null for v1"
    )
    download_count: int
    published_at: datetime | None


class PublisherProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    display_name: str
    company_name: str | None
    bio: str | None
    website: str | None
    support_email: str | None
    logo_url: str | None
    banner_url: str | None
    verified: bool
    social_links: dict[str, str]
    created_at: datetime
    module_count: int = Field(description="Listed modules")
    total_downloads: int = Field(description="Downloads of the listed modules")


class Facets(BaseModel):
    category: dict[str, int] = Field(description="Matches per category slug")
    license_type: dict[str, int] = Field(description="Matches per license type")


class TextSegment(BaseModel):
    """A piece of text to show as it is (as a text node, never as HTML); ``match``: a word
    the query matched, to show marked (e.g. in a ``<mark>``)."""

    text: str
    match: bool


class HighlightsOut(BaseModel):
    """The matched words, server-side: each field is the text cut into segments, so a
    page renders them as text with the matches marked and no markup ever comes from data.
    Joining the segments' text gives the field back."""

    name: list[TextSegment]
    summary: list[TextSegment]
    description: list[TextSegment] = Field(
        description="Up to two fragments of the description around its matches, joined "
        "by ' … '; empty when the description matched nothing"
    )


class SearchHit(ModuleSummary):
    highlights: HighlightsOut


class DidYouMeanOut(BaseModel):
    query: str = Field(description="The query with misspelt words replaced: search it")
    total: int = Field(description="What it finds, with the same filters")


class CategoryCountOut(BaseModel):
    id: int
    slug: str
    name: str
    module_count: int = Field(description="Listed modules filed under it")


class SuggestionsOut(BaseModel):
    """What a search that found nothing offers instead."""

    did_you_mean: DidYouMeanOut | None = Field(
        description="Closest words of the listed modules' names and tags (trigram "
        "similarity), offered only when they find something"
    )
    popular_categories: list[CategoryCountOut] = Field(
        description="Categories with the most listed modules, most first (up to 5)"
    )


class SearchPage(Page[SearchHit]):
    facets: Facets
    suggestions: SuggestionsOut | None = Field(
        description="Set when nothing matched (total 0), else null"
    )


class ViewerActionsOut(BaseModel):
    """What the page offers; each decided by the API."""

    free_download: bool = Field(description="A free module with a release to download")
    add_to_cart: bool
    buy_now: bool = Field(description="Put it in the cart (if not there) and go to checkout")
    start_trial: bool = Field(description="POST /modules/{slug}/trial")
    download: bool = Field(
        description="The viewer's license (or their own module) covers the latest release"
    )
    sign_in_required: bool = Field(
        description="Anonymous: the purchase and trial actions offered need an account"
    )
    reason: NotForSale | None = Field(
        description="Why no purchase is offered (module_is_free, own_module, "
        "already_licensed, not_for_sale, checkout_pending, mixed_currencies)"
    )


class OwnedLicenseOut(BaseModel):
    """The viewer's live license of the module ("you own this")."""

    model_config = ConfigDict(from_attributes=True)

    license_id: int = Field(validation_alias="id")
    license_type: str
    status: str
    expires_at: datetime | None


class PendingOrderRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_number: str
    expires_at: datetime | None


class TrialOut(BaseModel):
    offered: bool
    days: int | None
    used: bool = Field(description="The viewer has had this module's trial (one per buyer)")


class ViewerReviewOut(BaseModel):
    """Whether the viewer may review the module (``POST /modules/{slug}/reviews``)."""

    may_write: bool
    reason: NoReview | None = Field(
        description="Why not: sign_in_required, own_module, already_reviewed"
    )
    own_review_id: int | None = Field(
        description="The viewer's review of this module, if they wrote one (PUT/DELETE "
        "/reviews/{id})"
    )


class ModuleViewerOut(BaseModel):
    """A module's page as this viewer (anonymous, or the credential's account) may use it."""

    module_id: int
    slug: str
    signed_in: bool
    actions: ViewerActionsOut
    owned: OwnedLicenseOut | None
    cart_item_id: int | None = Field(description="The cart line holding it (DELETE /cart/{id})")
    pending_order: PendingOrderRef | None = Field(
        description="An order of the viewer holding it that waits for its payment"
    )
    trial: TrialOut
    review: ViewerReviewOut
