"""One-line fields refuse control and bidirectional characters; multi-line fields keep
their line breaks but refuse the rest (``api.schemas.SingleLine``/``MultiLine``, rules in
``domain.text``). Table-driven over every text input of the request schemas, then once
through the HTTP API for the shape of the 422."""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.schemas.auth import ApiTokenIn, RegisterIn
from api.schemas.categories import CategoryIn, CategoryUpdateIn
from api.schemas.coupons import CouponIn
from api.schemas.licenses import InstanceIn
from api.schemas.moderation import ApproveIn, RejectIn
from api.schemas.modules import ModuleCreateIn, ModuleUpdateIn
from api.schemas.orders import CheckoutIn, ConfirmIn, RefundIn
from api.schemas.payouts import MarkPaidIn
from api.schemas.publishers import (
    PublisherRegisterIn,
    PublisherUpdateIn,
    ReinstateIn,
    SuspendIn,
)
from api.schemas.reviews import HideIn, NoteIn, ReportIn, ResponseIn, ReviewIn
from api.schemas.versions import VersionNotesIn
from domain.text import text_problem
from tests.factories import PASSWORD

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}
MODULE = {"display_name": "Hello", "short_description": "Says hello", "technical_name": "hello"}
SHOT = {"url": "https://example.com/a.png"}

# (model, a valid body, how to put the text in it)
SINGLE_LINE: list[tuple[str, type[BaseModel], dict[str, Any], Any]] = [
    (
        "register.full_name",
        RegisterIn,
        {"email": "a@example.com", "password": PASSWORD},
        "full_name",
    ),
    ("token.name", ApiTokenIn, {"scopes": ["account"]}, "name"),
    ("category.name", CategoryIn, {}, "name"),
    ("category.icon", CategoryIn, {"name": "Tools"}, "icon"),
    ("category-update.name", CategoryUpdateIn, {}, "name"),
    ("coupon.code", CouponIn, {"kind": "percent", "value": "10"}, "code"),
    (
        "instance.domain",
        InstanceIn,
        {"instance_id": "instance-1", "nonce": "nonce-0123456789ab"},
        "domain",
    ),
    ("module.display_name", ModuleCreateIn, MODULE, "display_name"),
    ("module.short_description", ModuleCreateIn, MODULE, "short_description"),
    ("module.tags", ModuleCreateIn, MODULE, lambda v: {"tags": [v]}),
    ("module.keywords", ModuleCreateIn, MODULE, lambda v: {"keywords": [v]}),
    ("module.caption", ModuleCreateIn, MODULE, lambda v: {"screenshots": [SHOT | {"caption": v}]}),
    ("module-update.display_name", ModuleUpdateIn, {}, "display_name"),
    ("module-update.short_description", ModuleUpdateIn, {}, "short_description"),
    ("checkout.billing_name", CheckoutIn, {}, "billing_name"),
    ("checkout.coupon_code", CheckoutIn, {}, "coupon_code"),
    ("checkout.return_url", CheckoutIn, {}, lambda v: {"return_url": f"https://shop.example/{v}"}),
    (
        "checkout.address.line1",
        CheckoutIn,
        {},
        lambda v: {"billing_address": ADDRESS | {"line1": v}},
    ),
    (
        "checkout.address.line2",
        CheckoutIn,
        {},
        lambda v: {"billing_address": ADDRESS | {"line2": v}},
    ),
    ("checkout.address.city", CheckoutIn, {}, lambda v: {"billing_address": ADDRESS | {"city": v}}),
    (
        "checkout.address.postal_code",
        CheckoutIn,
        {},
        lambda v: {"billing_address": ADDRESS | {"postal_code": v}},
    ),
    (
        "checkout.address.region",
        CheckoutIn,
        {},
        lambda v: {"billing_address": ADDRESS | {"region": v}},
    ),
    ("confirm.order_number", ConfirmIn, {}, "order_number"),
    ("mark-paid.reference", MarkPaidIn, {}, "reference"),
    ("publisher.display_name", PublisherRegisterIn, {}, "display_name"),
    ("publisher.company_name", PublisherRegisterIn, {"display_name": "Acme"}, "company_name"),
    (
        "publisher.social_links",
        PublisherRegisterIn,
        {"display_name": "Acme"},
        lambda v: {"social_links": {v: "https://example.com"}},
    ),
    ("publisher-update.display_name", PublisherUpdateIn, {}, "display_name"),
    ("publisher-update.company_name", PublisherUpdateIn, {}, "company_name"),
    ("review.title", ReviewIn, {"rating": 5}, "title"),
]
MULTI_LINE: list[tuple[str, type[BaseModel], dict[str, Any], Any]] = [
    ("category.description", CategoryIn, {"name": "Tools"}, "description"),
    ("module.description", ModuleCreateIn, MODULE, "description"),
    ("module-update.description", ModuleUpdateIn, {}, "description"),
    ("approve.note", ApproveIn, {}, "note"),
    ("reject.reason", RejectIn, {}, "reason"),
    ("refund.reason", RefundIn, {}, "reason"),
    ("publisher.bio", PublisherRegisterIn, {"display_name": "Acme"}, "bio"),
    ("publisher-update.bio", PublisherUpdateIn, {}, "bio"),
    ("suspend.reason", SuspendIn, {}, "reason"),
    ("reinstate.note", ReinstateIn, {}, "note"),
    ("review.content", ReviewIn, {"rating": 5}, "content"),
    ("report.details", ReportIn, {"reason": "other"}, "details"),
    ("response.response", ResponseIn, {}, "response"),
    ("hide.note", HideIn, {}, "note"),
    ("resolve.note", NoteIn, {}, "note"),
    ("version.release_notes", VersionNotesIn, {}, "release_notes"),
    ("version.changelog", VersionNotesIn, {}, "changelog"),
]

LINE_BREAKS = {"cr-lf": "ab\r\nBcc: x", "lf": "ab\nc", "cr": "ab\rc", "tab": "ab\tc"}
CONTROLS = {"escape": "ab\x1b[31mc", "bell": "ab\x07c", "del": "ab\x7fc", "c1": "ab\x85c"}
BIDI = {
    "rlo": "invoice\u202egnp.exe",
    "lre": "a\u202ab",
    "pdf": "a\u202cb",
    "lri": "a\u2066b",
    "pdi": "a\u2069b",
    "lrm": "a\u200eb",
    "rlm": "a\u200fb",
    "alm": "a\u061cb",
}
CLEAN = ["Módulo Ñandú 🚀", "日本語", "مرحبا", "👩‍💻 e\u0301", "a\u200cb"]


def body(base: dict[str, Any], put: Any, text: str) -> dict[str, Any]:
    return base | (put(text) if callable(put) else {put: text})


def problem_types(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return {e["type"] for e in error.errors()}
    return set()


def cases(table, texts):
    return [
        pytest.param(model, base, put, text, id=f"{name}-{label}")
        for name, model, base, put in table
        for label, text in texts.items()
    ]


def test_the_clean_bodies_are_valid():
    for _, model, base, put in SINGLE_LINE + MULTI_LINE:
        model.model_validate(body(base, put, "Plain-words"))


@pytest.mark.parametrize(
    ("model", "base", "put", "text"), cases(SINGLE_LINE, LINE_BREAKS | CONTROLS)
)
def test_one_line_fields_refuse_control_characters(model, base, put, text):
    assert "control_character" in problem_types(model, body(base, put, text))


@pytest.mark.parametrize(("model", "base", "put", "text"), cases(SINGLE_LINE + MULTI_LINE, BIDI))
def test_every_text_field_refuses_bidirectional_controls(model, base, put, text):
    assert "bidi_control" in problem_types(model, body(base, put, text))


@pytest.mark.parametrize(("model", "base", "put", "text"), cases(MULTI_LINE, LINE_BREAKS))
def test_multi_line_fields_keep_their_line_breaks(model, base, put, text):
    assert problem_types(model, body(base, put, text)) == set()


@pytest.mark.parametrize(("model", "base", "put", "text"), cases(MULTI_LINE, CONTROLS))
def test_multi_line_fields_refuse_other_control_characters(model, base, put, text):
    assert "control_character" in problem_types(model, body(base, put, text))


@pytest.mark.parametrize(
    ("model", "base", "put", "text"), cases(SINGLE_LINE + MULTI_LINE, {"nul": "a\x00b"})
)
def test_every_text_field_refuses_nul(model, base, put, text):
    assert problem_types(model, body(base, put, text))


@pytest.mark.parametrize("text", CLEAN)
def test_scripts_emoji_joiners_and_marks_are_text(text):
    assert text_problem(text) is None
    for name, model, base, put in SINGLE_LINE + MULTI_LINE:
        if name in (
            "coupon.code",
            "checkout.coupon_code",
            "checkout.return_url",
            "instance.domain",
        ):
            continue  # these have a pattern of their own
        assert problem_types(model, body(base, put, text)) <= {"string_too_long"}, name


async def test_the_api_answers_a_422_naming_the_field_and_the_problem(api):
    response = await api.request(
        "POST",
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada\r\nBcc: x"},
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "validation_error",
        "detail": [
            {
                "loc": ["body", "full_name"],
                "msg": "must not contain the control character U+000D",
                "type": "control_character",
            }
        ],
    }
    spoofed = await api.request(
        "POST",
        "/api/v1/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada\u202eexe"},
    )
    assert spoofed.status_code == 422, spoofed.text
    [problem] = spoofed.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", "full_name"], "bidi_control")
