"""Invoice PDFs from ``integrations/invoice_pdf.py``, read back with pypdf: every figure is
printed exactly, long invoices page properly, hostile text never breaks rendering, and the
same invoice always gives the same bytes. Each test runs with DejaVu Sans (skipped where the
machine has none) and with the core-font fallback the slim production image gets."""

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from integrations import invoice_pdf
from integrations.invoice_pdf import Invoice, InvoiceLine, render_invoice

ISSUED = datetime(2026, 11, 27, 14, 3, 9, tzinfo=UTC)


@pytest.fixture(params=["unicode", "core"], autouse=True)
def font(request, monkeypatch):
    if request.param == "core":
        monkeypatch.setattr(invoice_pdf, "FONT_DIRS", ())
    elif invoice_pdf._find_unicode_font(invoice_pdf.FONT_DIRS) is None:
        pytest.skip("no DejaVu Sans on this machine")
    return request.param


def line(name: str = "Hello FastVue", **overrides) -> InvoiceLine:
    values = {
        "description": name,
        "detail": "hello-fastvue · one-time license",
        "unit_price": Decimal("1234.50"),
        "discount": Decimal("0.00"),
        "tax": Decimal("0.00"),
        "total": Decimal("1234.50"),
    }
    return InvoiceLine(**(values | overrides))


def invoice(**overrides) -> Invoice:
    values = {
        "number": "INV-FV-20261127-7K2Q9XWM",
        "order_number": "FV-20261127-7K2Q9XWM",
        "issued_at": ISSUED,
        "paid_at": ISSUED + timedelta(minutes=1),
        "seller_name": "FastVue Marketplace",
        "seller_address": "FastVue Marketplace Ltd\n1 Example Street\nLondon EC1A 1AA\nUK",
        "buyer_name": "Ada Lovelace",
        "buyer_email": "ada@example.com",
        "buyer_address": ("12 Analytical Row", "London"),
        "currency": "USD",
        "lines": (
            line(),
            line(
                "Charts Pro",
                detail="charts-pro · monthly subscription",
                unit_price=Decimal("100.00"),
                discount=Decimal("25.00"),
                tax=Decimal("6.19"),
                total=Decimal("81.19"),
            ),
        ),
        "subtotal": Decimal("1334.50"),
        "discount": Decimal("25.00"),
        "tax": Decimal("6.19"),
        "tax_rate_percent": Decimal("8.25"),
        "total": Decimal("1315.69"),
        "coupon_code": "SPRING25",
        "payment_method": "Stripe",
        "status": "Paid",
    }
    return Invoice(**(values | overrides))


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(BytesIO(pdf), strict=True)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def test_invoice_shows_parties_lines_and_exact_amounts():
    text = text_of(render_invoice(invoice()))

    for expected in (
        "INVOICE",
        "INV-FV-20261127-7K2Q9XWM",
        "FV-20261127-7K2Q9XWM",
        "27 Nov 2026",
        "FastVue Marketplace",
        "Ada Lovelace",
        "ada@example.com",
        "12 Analytical Row",
        "Hello FastVue",
        "hello-fastvue · one-time license",
        "Charts Pro",
        "charts-pro · monthly subscription",
        "1234.50 USD",
        "100.00 USD",
        "-25.00 USD",
        "6.19 USD",
        "81.19 USD",
        "1334.50 USD",
        "1315.69 USD",
        "Discount (coupon SPRING25)",
        "Tax (8.25%)",
        "Stripe",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert "Refunded" not in text
    assert "REFUNDED" not in text


def test_jpy_amounts_have_no_decimals():
    jpy = invoice(
        currency="JPY",
        lines=(
            line(
                unit_price=Decimal(1500), discount=Decimal(0), tax=Decimal(150), total=Decimal(1650)
            ),
        ),
        subtotal=Decimal(1500),
        discount=Decimal(0),
        tax=Decimal(150),
        tax_rate_percent=Decimal("10.00"),
        total=Decimal(1650),
        coupon_code=None,
    )
    text = text_of(render_invoice(jpy))

    assert "1500 JPY" in text
    assert "1650 JPY" in text
    assert "Tax (10%)" in text
    assert not re.search(r"\d\.\d+ JPY", text)
    assert "Discount" in text  # the column; no totals row without a discount or coupon
    assert "coupon" not in text


def test_amounts_are_printed_from_their_decimals():
    exact = invoice(
        lines=(line(unit_price=Decimal("999999999999.99"), total=Decimal("999999999999.99")),),
        subtotal=Decimal("999999999999.99"),
        total=Decimal("0.10"),
        tax_rate_percent=Decimal("0"),
    )
    text = text_of(render_invoice(exact))

    assert "999999999999.99 USD" in text
    assert "0.10 USD" in text
    assert "Tax (0%)" in text


@pytest.mark.parametrize(
    ("refunded", "stamp"), [(Decimal("1315.69"), "REFUNDED"), (Decimal("81.19"), "PARTIALLY")]
)
def test_refunded_invoice_says_so(refunded, stamp):
    text = text_of(render_invoice(invoice(status="Refunded", refunded_amount=refunded)))

    assert "Refunded" in text
    assert f"-{refunded} USD" in text
    assert f"Net paid {Decimal('1315.69') - refunded} USD" in text
    assert stamp in text


def test_long_invoice_breaks_pages_and_numbers_them():
    lines = tuple(line(f"Module number {n:03d}", total=Decimal(n)) for n in range(120))
    reader = read(render_invoice(invoice(lines=lines)))
    pages = [page.extract_text() for page in reader.pages]

    count = len(pages)
    assert count >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert "Unit price" in page or number == count
    text = "\n".join(pages)
    for n in range(120):
        assert f"Module number {n:03d}" in text
    assert "Total" in pages[-1]
    assert "(continued)" in pages[1]


HOSTILE = "\x00Zoë 张伟 👩‍💻 <script>alert(1)</script>\x07\u202eevil\ud800 {nb} \t\n" + "W" * 5000


def test_hostile_text_renders():
    hostile = invoice(
        number="INV-\x00" + "9" * 5000,
        seller_name=HOSTILE,
        seller_address=HOSTILE + "\n" * 50 + "\r\n".join([HOSTILE] * 30),
        buyer_name=HOSTILE,
        buyer_email=HOSTILE + "@example.com",
        buyer_address=tuple([HOSTILE, "", "\x00\x01", "日本語の住所 東京都"] * 20),
        lines=(
            *[line(HOSTILE, detail=HOSTILE)] * 3,
            line("Ünïcödé Ωμέγα Ő ﬁle \uff26\uff35\uff2c\uff2c", detail="Ελληνικά · عربى · עברית"),
        ),
        coupon_code=HOSTILE,
        payment_method=HOSTILE,
        status=HOSTILE,
        refunded_amount=Decimal("1.00"),
    )
    pdf = render_invoice(hostile)
    reader = read(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)

    assert len(reader.pages) == 1
    assert "<script>alert(1)</script>" in text
    assert "Zoë" in text
    assert "{nb}" in text
    assert "\x00" not in text
    assert "\x07" not in text
    assert "Page 1 of 1" in text


def test_characters_the_font_lacks_are_replaced(font):
    name = "Zoë Ő 张伟 ﬁ 👍 “Œuvre” \u2013 5 €"
    text = text_of(render_invoice(invoice(buyer_name=name)))

    if font == "core":
        assert "Zoë O ?? fi ? “Œuvre” \u2013 5 €" in text
    else:
        assert "Zoë Ő ?? ﬁ ? “Œuvre” \u2013 5 €" in text


def test_sparse_invoice_renders():
    bare = invoice(
        issued_at=datetime(2026, 11, 27, 23, 59),
        paid_at=None,
        seller_address="",
        buyer_name=None,
        buyer_address=(),
        currency="",
        lines=(),
        coupon_code="",
        status="",
        payment_method="",
    )
    text = text_of(render_invoice(bare))

    assert "27 Nov 2026" in text
    assert "Paid on" not in text
    assert "Page 1 of 1" in text


def test_same_invoice_gives_the_same_bytes():
    first = render_invoice(invoice())

    assert render_invoice(invoice()) == first
    assert render_invoice(invoice(issued_at=ISSUED + timedelta(seconds=1))) != first


def test_metadata():
    issued = datetime(2026, 11, 27, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    meta = read(render_invoice(invoice(issued_at=issued, seller_name="FastVue ✓"))).metadata

    assert meta.title == "Invoice INV-FV-20261127-7K2Q9XWM"
    assert meta.author == "FastVue ✓"
    assert meta.subject == "Order FV-20261127-7K2Q9XWM"
    assert meta.creation_date == issued
