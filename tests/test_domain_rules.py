"""The pure business rules in ``domain/``, table by table, without a database."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.access import (
    ROLE_SCOPES,
    Role,
    Scope,
    granted_scopes,
    role_after_publisher_registration,
)
from domain.categories import build_tree, check_new_parent
from domain.errors import Conflict, DomainError, ErrorKind
from domain.modules import (
    MAX_PRICE,
    MAX_TRIAL_DAYS,
    LicenseType,
    ModuleStatus,
    SubscriptionPeriod,
    check_editable,
    check_pricing,
    check_slug_change,
    submission_is_retry,
)
from domain.money import to_cents
from domain.review import (
    REASON_MAX,
    DecisionAction,
    ReviewDecision,
    ReviewState,
    check_decision_allowed,
    reminder_is_escalation,
)
from domain.slugs import SLUG_MAX, is_slug, slugify

FREE, PAID, SUB, TRIAL = (
    LicenseType.FREE,
    LicenseType.PAID,
    LicenseType.SUBSCRIPTION,
    LicenseType.TRIAL,
)
MONTHLY, YEARLY = SubscriptionPeriod.MONTHLY, SubscriptionPeriod.YEARLY
D = Decimal
FULL_WIDTH = "\uff26\uff35\uff2c\uff2c \uff57\uff49\uff44\uff54\uff48"  # FULL width


# --- pricing -----------------------------------------------------------------------------

VALID_PRICING = [
    # id, license, price, currency, period, trial, returned price
    ("free-no-price", FREE, None, "USD", None, None, None),
    ("free-zero-price", FREE, D("0"), "EUR", None, None, None),
    ("free-zero-cents", FREE, D("0.00"), "JPY", None, None, None),
    ("paid-whole", PAID, D("10"), "USD", None, None, D("10")),
    ("paid-cents", PAID, D("19.99"), "GBP", None, None, D("19.99")),
    ("paid-one-cent", PAID, D("0.01"), "CHF", None, None, D("0.01")),
    ("paid-at-max", PAID, MAX_PRICE, "USD", None, None, MAX_PRICE),
    ("paid-trailing-zero", PAID, D("5.50"), "CAD", None, None, D("5.50")),
    ("subscription-monthly", SUB, D("4.99"), "AUD", MONTHLY, None, D("4.99")),
    ("subscription-yearly", SUB, D("49"), "USD", YEARLY, None, D("49")),
    ("subscription-with-trial", SUB, D("4.99"), "USD", MONTHLY, 14, D("4.99")),
    ("subscription-trial-1-day", SUB, D("4.99"), "USD", YEARLY, 1, D("4.99")),
    ("trial-monthly", TRIAL, D("9.00"), "EUR", MONTHLY, 30, D("9.00")),
    ("trial-yearly-min-days", TRIAL, D("90"), "USD", YEARLY, 1, D("90")),
    ("trial-max-days", TRIAL, D("9.00"), "USD", MONTHLY, MAX_TRIAL_DAYS, D("9.00")),
]


@pytest.mark.parametrize(
    ("license_type", "price", "currency", "period", "trial", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in VALID_PRICING],
)
def test_valid_pricing_is_accepted_and_returns_the_price(
    license_type, price, currency, period, trial, expected
):
    assert check_pricing(license_type, price, currency, period, trial) == expected


INVALID_PRICING = [
    # id, license, price, currency, period, trial, error code
    ("free-unknown-currency", FREE, None, "XYZ", None, None, "unsupported_currency"),
    ("paid-lowercase-currency", PAID, D("5"), "usd", None, None, "unsupported_currency"),
    ("subscription-unknown-currency", SUB, D("5"), "BTC", MONTHLY, None, "unsupported_currency"),
    ("free-with-price", FREE, D("1.00"), "USD", None, None, "free_module_has_price"),
    ("free-with-tiny-price", FREE, D("0.01"), "USD", None, None, "free_module_has_price"),
    ("free-with-negative-price", FREE, D("-1"), "USD", None, None, "free_module_has_price"),
    ("free-with-period", FREE, None, "USD", MONTHLY, None, "free_module_has_billing"),
    ("free-with-trial", FREE, None, "USD", None, 7, "free_module_has_billing"),
    ("free-zero-price-with-period", FREE, D("0"), "USD", YEARLY, None, "free_module_has_billing"),
    ("paid-no-price", PAID, None, "USD", None, None, "price_required"),
    ("paid-zero-price", PAID, D("0"), "USD", None, None, "price_required"),
    ("paid-negative-price", PAID, D("-5"), "USD", None, None, "price_required"),
    ("paid-above-max", PAID, MAX_PRICE + D("0.01"), "USD", None, None, "price_too_high"),
    ("paid-three-decimals", PAID, D("9.999"), "USD", None, None, "price_precision"),
    ("paid-sub-cent", PAID, D("0.001"), "USD", None, None, "price_precision"),
    ("paid-with-period", PAID, D("5"), "USD", MONTHLY, None, "paid_module_has_billing"),
    ("paid-with-trial", PAID, D("5"), "USD", None, 7, "paid_module_has_billing"),
    ("subscription-no-price", SUB, None, "USD", MONTHLY, None, "price_required"),
    ("subscription-zero-price", SUB, D("0"), "USD", MONTHLY, None, "price_required"),
    ("subscription-above-max", SUB, D("100000.01"), "USD", MONTHLY, None, "price_too_high"),
    ("subscription-precision", SUB, D("1.234"), "USD", MONTHLY, None, "price_precision"),
    ("subscription-no-period", SUB, D("5"), "USD", None, None, "subscription_period_required"),
    ("subscription-trial-zero", SUB, D("5"), "USD", MONTHLY, 0, "trial_days_range"),
    ("subscription-trial-too-long", SUB, D("5"), "USD", MONTHLY, 91, "trial_days_range"),
    ("trial-no-price", TRIAL, None, "USD", MONTHLY, 14, "price_required"),
    ("trial-no-period", TRIAL, D("5"), "USD", None, 14, "subscription_period_required"),
    ("trial-no-days", TRIAL, D("5"), "USD", MONTHLY, None, "trial_days_required"),
    ("trial-zero-days", TRIAL, D("5"), "USD", MONTHLY, 0, "trial_days_range"),
    ("trial-negative-days", TRIAL, D("5"), "USD", YEARLY, -3, "trial_days_range"),
    ("trial-too-many-days", TRIAL, D("5"), "USD", MONTHLY, MAX_TRIAL_DAYS + 1, "trial_days_range"),
]


@pytest.mark.parametrize(
    ("license_type", "price", "currency", "period", "trial", "code"),
    [pytest.param(*row[1:], id=row[0]) for row in INVALID_PRICING],
)
def test_inconsistent_pricing_is_refused_with_its_code(
    license_type, price, currency, period, trial, code
):
    with pytest.raises(DomainError) as refused:
        check_pricing(license_type, price, currency, period, trial)
    assert refused.value.code == code
    assert refused.value.kind is ErrorKind.INVALID, "a pricing mistake is a 400, not a conflict"
    assert refused.value.detail


# --- listing status rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(ModuleStatus.DRAFT, None, id="draft-editable"),
        pytest.param(ModuleStatus.PUBLISHED, None, id="published-editable"),
        pytest.param(ModuleStatus.REJECTED, None, id="rejected-editable"),
        pytest.param(ModuleStatus.PENDING, "module_under_review", id="pending-frozen"),
        pytest.param(ModuleStatus.ARCHIVED, "module_archived", id="archived-frozen"),
    ],
)
def test_check_editable(status, code):
    if code is None:
        check_editable(status)
        return
    with pytest.raises(Conflict) as refused:
        check_editable(status)
    assert refused.value.code == code
    assert refused.value.kind is ErrorKind.CONFLICT


@pytest.mark.parametrize("status", list(ModuleStatus), ids=lambda s: s.value)
def test_slug_can_only_change_on_a_draft(status):
    if status is ModuleStatus.DRAFT:
        check_slug_change(status)
        return
    with pytest.raises(Conflict) as refused:
        check_slug_change(status)
    assert refused.value.code == "slug_frozen"


def test_a_draft_slug_is_frozen_once_it_has_versions():
    with pytest.raises(Conflict) as refused:
        check_slug_change(ModuleStatus.DRAFT, has_versions=True)
    assert refused.value.code == "slug_frozen"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        pytest.param(ModuleStatus.DRAFT, False, id="draft-first-submit"),
        pytest.param(ModuleStatus.REJECTED, False, id="rejected-resubmit"),
        pytest.param(ModuleStatus.PENDING, True, id="pending-is-a-retry"),
        pytest.param(ModuleStatus.ARCHIVED, "module_archived", id="archived-refused"),
        pytest.param(ModuleStatus.PUBLISHED, "module_already_published", id="published-refused"),
    ],
)
def test_submission_is_retry(status, outcome):
    if isinstance(outcome, bool):
        assert submission_is_retry(status) is outcome
        return
    with pytest.raises(Conflict) as refused:
        submission_is_retry(status)
    assert refused.value.code == outcome


def test_every_status_has_a_submission_rule():
    covered = {ModuleStatus.DRAFT, ModuleStatus.REJECTED, ModuleStatus.PENDING}
    covered |= {ModuleStatus.ARCHIVED, ModuleStatus.PUBLISHED}
    assert covered == set(ModuleStatus), "a new status needs a row in the table above"


# --- slugs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        pytest.param("Hello World", "hello-world", id="words"),
        pytest.param("already-a-slug", "already-a-slug", id="idempotent"),
        pytest.param("CRM  Pro", "crm-pro", id="upper-case-and-double-space"),
        pytest.param("  --Acme__Tools!!  ", "acme-tools", id="punctuation-trimmed"),
        pytest.param("Version 2.0 (beta)", "version-2-0-beta", id="digits-and-brackets"),
        pytest.param("C++ & C#", "c-c", id="symbols-only-separate"),
        pytest.param("Café Crème Brûlée", "cafe-creme-brulee", id="accents-folded"),
        pytest.param("Ångström Über Naïve", "angstrom-uber-naive", id="more-accents"),
        pytest.param(FULL_WIDTH, "full-width", id="full-width-letters"),
        pytest.param("ﬁle ﬂow", "file-flow", id="ligatures-expanded"),
        pytest.param("日本語 tools", "tools", id="non-latin-dropped"),
        pytest.param("日本語", "", id="nothing-usable"),
        pytest.param("!!! ---", "", id="punctuation-only"),
        pytest.param("", "", id="empty"),
        pytest.param("emoji 🚀 rocket", "emoji-rocket", id="emoji-dropped"),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug
    assert slug == "" or is_slug(slug)


@pytest.mark.parametrize(
    ("text", "max_length", "slug"),
    [
        pytest.param("a" * 150, SLUG_MAX, "a" * SLUG_MAX, id="capped-at-default"),
        pytest.param("a" * 99 + " b", SLUG_MAX, "a" * 99, id="no-trailing-hyphen-at-cap"),
        pytest.param("alpha beta gamma", 10, "alpha-beta", id="custom-cap"),
        pytest.param("alpha beta gamma", 6, "alpha", id="custom-cap-on-hyphen"),
        pytest.param("ab", 5, "ab", id="short-untouched"),
    ],
)
def test_slugify_caps_length(text, max_length, slug):
    result = slugify(text, max_length)
    assert result == slug
    assert len(result) <= max_length
    assert is_slug(result)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param("a", True, id="single-letter"),
        pytest.param("123", True, id="digits"),
        pytest.param("my-module-2", True, id="hyphenated"),
        pytest.param("a" * SLUG_MAX, True, id="at-max-length"),
        pytest.param("a" * (SLUG_MAX + 1), False, id="too-long"),
        pytest.param("", False, id="empty"),
        pytest.param("My-Module", False, id="upper-case"),
        pytest.param("my_module", False, id="underscore"),
        pytest.param("my module", False, id="space"),
        pytest.param("-leading", False, id="leading-hyphen"),
        pytest.param("trailing-", False, id="trailing-hyphen"),
        pytest.param("double--hyphen", False, id="double-hyphen"),
        pytest.param("café", False, id="non-ascii"),
        pytest.param("slug\n", False, id="trailing-newline"),
    ],
)
def test_is_slug(value, valid):
    assert is_slug(value) is valid


# --- roles and scopes ----------------------------------------------------------------------


def test_each_role_has_exactly_its_scopes():
    expected = {
        Role.CONSUMER: {Scope.ACCOUNT},
        Role.PUBLISHER: {Scope.ACCOUNT, Scope.MODULES_WRITE, Scope.PUBLISH},
        Role.ADMIN: {Scope.ACCOUNT, Scope.MODULES_WRITE, Scope.PUBLISH, Scope.ADMIN},
    }
    assert expected == ROLE_SCOPES


@pytest.mark.parametrize(
    ("role", "requested", "granted"),
    [
        pytest.param(Role.CONSUMER, None, {Scope.ACCOUNT}, id="consumer-session"),
        pytest.param(
            Role.PUBLISHER,
            None,
            {Scope.ACCOUNT, Scope.MODULES_WRITE, Scope.PUBLISH},
            id="publisher-session",
        ),
        pytest.param(Role.ADMIN, None, set(Scope), id="admin-session"),
        pytest.param(Role.CONSUMER, {Scope.ADMIN}, set(), id="consumer-token-asking-admin"),
        pytest.param(
            Role.CONSUMER, {Scope.ACCOUNT, Scope.PUBLISH}, {Scope.ACCOUNT}, id="consumer-narrowed"
        ),
        pytest.param(Role.PUBLISHER, {Scope.PUBLISH}, {Scope.PUBLISH}, id="publisher-ci-token"),
        pytest.param(
            Role.PUBLISHER,
            {Scope.PUBLISH, Scope.ADMIN},
            {Scope.PUBLISH},
            id="publisher-token-asking-admin",
        ),
        pytest.param(Role.ADMIN, {Scope.ADMIN}, {Scope.ADMIN}, id="admin-only-token"),
        pytest.param(Role.ADMIN, set(), set(), id="empty-request-grants-nothing"),
    ],
)
def test_granted_scopes_never_exceed_the_role(role, requested, granted):
    result = granted_scopes(role, None if requested is None else frozenset(requested))
    assert result == granted
    assert result <= ROLE_SCOPES[role]


@pytest.mark.parametrize(
    ("role", "after"),
    [
        pytest.param(Role.CONSUMER, Role.PUBLISHER, id="consumer-promoted"),
        pytest.param(Role.PUBLISHER, Role.PUBLISHER, id="publisher-unchanged"),
        pytest.param(Role.ADMIN, Role.ADMIN, id="admin-keeps-admin"),
    ],
)
def test_role_after_publisher_registration(role, after):
    assert role_after_publisher_registration(role) is after


# --- review decisions ----------------------------------------------------------------------


def decision(action=DecisionAction.APPROVE, reason=None) -> ReviewDecision:
    return ReviewDecision(action=action, reason=reason, admin_id=1)


@pytest.mark.parametrize(
    ("action", "reason", "stored"),
    [
        pytest.param(DecisionAction.APPROVE, None, None, id="approve-without-note"),
        pytest.param(DecisionAction.APPROVE, "   ", None, id="approve-blank-note-dropped"),
        pytest.param(DecisionAction.APPROVE, " Nice \n", "Nice", id="approve-note-trimmed"),
        pytest.param(DecisionAction.REJECT, "Broken install", "Broken install", id="reject"),
        pytest.param(DecisionAction.REJECT, "\t No docs  ", "No docs", id="reject-trimmed"),
        pytest.param(DecisionAction.REJECT, "x" * REASON_MAX, "x" * REASON_MAX, id="reject-at-max"),
    ],
)
def test_valid_review_decisions(action, reason, stored):
    made = decision(action, reason)
    assert made.reason == stored
    expected = ModuleStatus.PUBLISHED if action is DecisionAction.APPROVE else ModuleStatus.REJECTED
    assert made.resulting_status is expected


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        pytest.param(DecisionAction.REJECT, None, id="reject-without-reason"),
        pytest.param(DecisionAction.REJECT, "", id="reject-empty-reason"),
        pytest.param(DecisionAction.REJECT, "   \n\t", id="reject-blank-reason"),
        pytest.param(DecisionAction.REJECT, "x" * (REASON_MAX + 1), id="reject-too-long"),
        pytest.param(DecisionAction.APPROVE, "x" * (REASON_MAX + 1), id="approve-note-too-long"),
    ],
)
def test_invalid_review_decisions_are_refused(action, reason):
    with pytest.raises(ValidationError):
        decision(action, reason)


ANY_REASON = "Not up to standard"


@pytest.mark.parametrize(
    ("state", "error", "code"),
    [
        pytest.param(ReviewState.WAITING, None, None, id="waiting-ok"),
        pytest.param(ReviewState.DECIDED, Conflict, "already_decided", id="second-decision"),
        pytest.param(ReviewState.WITHDRAWN, Conflict, "review_withdrawn", id="withdrawn"),
    ],
)
def test_check_decision_allowed(state, error, code):
    """Who may decide is checked on the decision request (tests/test_decision_requests.py)."""
    if error is None:
        check_decision_allowed(state)
        return
    with pytest.raises(error) as refused:
        check_decision_allowed(state)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("reminder", "escalate_after", "escalated"),
    [
        pytest.param(1, 2, False, id="first-of-two"),
        pytest.param(2, 2, True, id="second-escalates"),
        pytest.param(5, 2, True, id="later-stays-escalated"),
        pytest.param(1, 1, True, id="escalate-immediately"),
        pytest.param(2, 3, False, id="before-threshold"),
    ],
)
def test_reminder_is_escalation(reminder, escalate_after, escalated):
    assert reminder_is_escalation(reminder, escalate_after) is escalated


# --- category tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    parent_id: int | None
    name: str


def tree(rows) -> list:
    """Render as nested (name, [children]) tuples."""
    return build_tree(
        rows,
        key=lambda r: r.id,
        parent=lambda r: r.parent_id,
        make_node=lambda r, kids: (r.name, kids),
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param(
            [Row(3, None, "c"), Row(1, None, "a"), Row(2, None, "b")],
            [("c", []), ("a", []), ("b", [])],
            id="roots-keep-input-order",
        ),
        pytest.param(
            [Row(1, None, "root"), Row(3, 1, "z-child"), Row(2, 1, "a-child"), Row(4, 2, "leaf")],
            [("root", [("z-child", []), ("a-child", [("leaf", [])])])],
            id="siblings-keep-input-order-when-nested",
        ),
        pytest.param(
            [Row(4, 2, "leaf"), Row(2, 1, "mid"), Row(1, None, "root")],
            [("root", [("mid", [("leaf", [])])])],
            id="children-before-parents-in-input",
        ),
        pytest.param(
            [Row(1, None, "kept"), Row(5, 99, "orphan"), Row(6, 5, "orphan-child")],
            [("kept", [])],
            id="orphan-dropped-with-subtree",
        ),
        pytest.param(
            [Row(1, None, "root"), Row(2, 1, "hidden-parent-missing"), Row(3, 7, "under-missing")],
            [("root", [("hidden-parent-missing", [])])],
            id="only-the-orphan-branch-goes",
        ),
        pytest.param(
            [Row(1, None, "root"), Row(2, 3, "cycle-a"), Row(3, 2, "cycle-b")],
            [("root", [])],
            id="two-node-cycle-dropped",
        ),
        pytest.param(
            [Row(1, 1, "self-parent"), Row(2, None, "root")],
            [("root", [])],
            id="self-parent-dropped",
        ),
        pytest.param(
            [Row(1, None, "root"), Row(1, 1, "duplicate-key-under-itself")],
            [("root", [])],
            id="repeated-key-does-not-recurse",
        ),
    ],
)
def test_build_tree(rows, expected):
    assert tree(rows) == expected


def test_build_tree_accepts_a_one_shot_iterable():
    rows = (r for r in [Row(1, None, "root"), Row(2, 1, "child")])
    assert tree(rows) == [("root", [("child", [])])]


def test_build_tree_handles_a_deep_chain():
    rows = [Row(1, None, "n1")] + [Row(i, i - 1, f"n{i}") for i in range(2, 201)]
    depth, node = 0, tree(rows)
    while node:
        depth += 1
        node = node[0][1]
    assert depth == 200


@pytest.mark.parametrize(
    ("category_id", "parent_ancestry", "allowed"),
    [
        pytest.param(5, [], True, id="to-root-level"),
        pytest.param(5, [7], True, id="under-a-root"),
        pytest.param(5, [8, 7, 1], True, id="under-an-unrelated-branch"),
        pytest.param(5, [5], False, id="under-itself"),
        pytest.param(5, [9, 5], False, id="under-its-child"),
        pytest.param(5, [12, 9, 5, 1], False, id="under-a-deep-descendant"),
    ],
)
def test_check_new_parent(category_id, parent_ancestry, allowed):
    if allowed:
        check_new_parent(category_id, parent_ancestry)
        return
    with pytest.raises(DomainError) as refused:
        check_new_parent(category_id, parent_ancestry)
    assert refused.value.code == "category_cycle"
    assert refused.value.kind is ErrorKind.INVALID


# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        pytest.param("1.005", "1.01", id="half-rounds-up"),
        pytest.param("1.0049", "1.00", id="below-half-rounds-down"),
        pytest.param("0.005", "0.01", id="half-cent-becomes-a-cent"),
        pytest.param("2.675", "2.68", id="classic-float-trap-as-string"),
        pytest.param("19.99", "19.99", id="exact"),
        pytest.param("3", "3.00", id="whole-string"),
        pytest.param(7, "7.00", id="int"),
        pytest.param(D("12.345"), "12.35", id="decimal"),
        pytest.param("-1.005", "-1.01", id="negative-half-away-from-zero"),
        pytest.param("-1.004", "-1.00", id="negative-below-half"),
        pytest.param("-0.015", "-0.02", id="negative-small"),
        pytest.param("99999.995", "100000.00", id="carries-into-next-unit"),
    ],
)
def test_to_cents(amount, cents):
    result = to_cents(amount)
    assert result == D(cents)
    assert str(result) == cents, "always exactly two decimals"


@pytest.mark.parametrize(
    ("status", "kind", "awaits", "step"),
    [
        ("pending", "purchase", True, "confirm_payment"),
        ("pending", "purchase", False, "wait"),
        ("paid", "purchase", False, "wait"),
        ("completed", "purchase", False, "none"),
        ("refunded", "purchase", False, "none"),
        ("failed", "purchase", False, "check_out_again"),
        ("expired", "purchase", True, "check_out_again"),
        ("cancelled", "purchase", False, "check_out_again"),
        ("failed", "renewal", False, "none"),
    ],
)
def test_an_orders_next_step(status, kind, awaits, step):
    from domain.checkout import OrderKind, OrderStatus, next_step

    assert next_step(OrderStatus(status), OrderKind(kind), awaits_buyer=awaits) == step


@pytest.mark.parametrize(
    ("status", "kind", "outcome"),
    [
        ("pending", "purchase", True),
        ("cancelled", "purchase", False),
        ("paid", "purchase", "order_paid"),
        ("completed", "purchase", "order_paid"),
        ("refunded", "purchase", "order_paid"),
        ("failed", "purchase", "order_not_pending"),
        ("expired", "purchase", "order_not_pending"),
        ("pending", "renewal", "order_not_cancellable"),
    ],
)
def test_only_a_pending_purchase_is_cancelled_and_a_cancelled_one_again_changes_nothing(
    status, kind, outcome
):
    from domain.checkout import OrderKind, OrderStatus, cancellable, check_cancel

    status, kind = OrderStatus(status), OrderKind(kind)
    assert cancellable(status, kind) is (outcome is True)
    if isinstance(outcome, bool):
        assert check_cancel(status, kind) is outcome
        return
    with pytest.raises(Conflict) as refused:
        check_cancel(status, kind)
    assert refused.value.code == outcome


def test_failure_codes_read_in_words_and_unknown_ones_as_a_decline():
    from domain.checkout import failure_reason

    assert failure_reason(None) is None
    assert failure_reason("insufficient_funds") == "The card has insufficient funds."
    assert failure_reason("lost_card") == "The payment did not go through (lost_card)."
    assert failure_reason("cancelled_by_buyer") == "You cancelled the payment; nothing was charged."
