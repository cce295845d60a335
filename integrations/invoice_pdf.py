"""Invoice PDFs: ``render_invoice`` lays an ``Invoice`` out as an A4 PDF and returns its bytes.

Pure: no I/O beyond reading a font, no clock, no locale. The caller builds the ``Invoice``
from an order, with amounts already exact in the order's currency (``domain.pricing``);
they are printed from their ``Decimal`` values at the currency's scale, never via float.

**Fonts.** DejaVu Sans when the machine has it (most scripts, not CJK or emoji), else the
PDF core Helvetica, whose cp1252 encoding is all it can show (the slim production image
ships no fonts). Every user-supplied string is cleaned (control and format characters
dropped, whitespace collapsed, length capped), then each character the font lacks becomes
its compatibility decomposition when the font has that (``Ő`` -> ``O``, ``ﬁ`` -> ``fi``),
else ``?``. So no name, address or module name can make rendering fail or draw tofu.

**Deterministic.** The same ``Invoice`` gives the same bytes: the creation date is
``issued_at``, dates are formatted without the locale, and the file id is a hash of the
content. Page numbers ("Page 1 of N") come from a first layout pass rather than fpdf2's
``{nb}`` alias, which would also replace that text inside a module's name.
"""

import functools
import logging
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import TTFFont

from domain.money import ROUNDING
from domain.pricing import ZERO_DECIMAL_CURRENCIES

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    """The module's display name."""
    detail: str
    """A second, smaller line, e.g. "hello-fastvue · one-time license"."""
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Invoice:
    number: str
    """E.g. "INV-FV-20261127-7K2Q9XWM"."""
    order_number: str
    issued_at: datetime
    """Timezone-aware; printed as a UTC date and used as the PDF's creation date."""
    paid_at: datetime | None
    seller_name: str
    seller_address: str
    """Multi-line."""
    buyer_name: str | None
    buyer_email: str
    buyer_address: tuple[str, ...]
    """One entry per line; may be empty."""
    currency: str
    """ISO 4217 code: two decimals, none for JPY."""
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    tax_rate_percent: Decimal
    total: Decimal
    coupon_code: str | None
    payment_method: str
    """E.g. "Stripe", "PayPal", "Card (local test gateway)"."""
    status: str
    """E.g. "Paid", "Refunded"."""
    refunded_amount: Decimal | None = None


FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)
"""Where DejaVuSans.ttf and DejaVuSans-Bold.ttf are looked for (Debian, Fedora, Arch)."""


@dataclass(frozen=True)
class _UnicodeFont:
    regular: Path
    bold: Path
    codepoints: frozenset[int]
    """Characters both faces have a glyph for."""


@functools.cache
def _find_unicode_font(dirs: tuple[Path, ...]) -> _UnicodeFont | None:
    for folder in dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if not (regular.is_file() and bold.is_file()):
            continue
        try:
            with ttLib.TTFont(regular, lazy=True) as face, ttLib.TTFont(bold, lazy=True) as bface:
                codepoints = frozenset(face.getBestCmap()) & frozenset(bface.getBestCmap())
        except Exception:
            LOG.warning("unreadable font in %s; trying the next folder", folder, exc_info=True)
            continue
        return _UnicodeFont(regular, bold, codepoints)
    LOG.info("DejaVu Sans not found: invoices use Helvetica, cp1252 characters only")
    return None


def _cp1252() -> frozenset[int]:
    codepoints = set()
    for byte in range(256):
        try:
            codepoints.add(ord(bytes([byte]).decode("cp1252")))
        except UnicodeDecodeError:
            continue
    return frozenset(codepoints)


_CP1252 = _cp1252()
ELLIPSIS = "…"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _clean(value: object, limit: int) -> str:
    """One line of text: NFC, without control, format, surrogate, private-use or unassigned
    characters (category C*: NUL, bidi overrides, zero-width joiners...), whitespace runs as
    one space, at most ``limit`` characters."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category[0] == "Z":
            kept.append(" ")
        elif category[0] != "C":
            kept.append(char)
    text = " ".join("".join(kept).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _date(moment: datetime) -> str:
    day = _utc(moment)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, not as the machine's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _money(amount: Decimal, currency: str) -> str:
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)
    return f"{value:f} {currency}".rstrip()


def _minus(amount: Decimal, currency: str) -> str:
    return f"-{_money(abs(amount), currency)}" if amount else _money(amount, currency)


def _percent(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f}%"


INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (31, 79, 153)
RULE = (222, 226, 230)
HEAD_FILL = (241, 243, 246)
STAMP = (200, 35, 51)

LEFT, RIGHT, TOP = 18.0, 192.0, 16.0
WIDTH = RIGHT - LEFT
BOTTOM_MARGIN = 24.0
FOOTER_Y = 297.0 - 16.0
COLUMNS = (
    ("Item", 76.0, "L"),
    ("Unit price", 25.0, "R"),
    ("Discount", 25.0, "R"),
    ("Tax", 22.0, "R"),
    ("Amount", 26.0, "R"),
)
ROW_PAD = 2.2


class _InvoicePDF(FPDF):
    def __init__(self, invoice: Invoice, font: _UnicodeFont | None, page_count: int) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice = invoice
        self.page_count = page_count
        # fpdf documents None as turning the alias off, but annotates the parameter str.
        self.alias_nb_pages(None)  # type: ignore[arg-type]
        self.c_margin = 1.5
        self.set_margins(LEFT, TOP, 210.0 - RIGHT)
        self.set_auto_page_break(True, margin=BOTTOM_MARGIN)
        if font is None:
            self.core_fonts_encoding = "cp1252"
            self.family, self.codepoints = "helvetica", _CP1252
        else:
            self.add_font("InvoiceSans", "", font.regular)
            self.add_font("InvoiceSans", "B", font.bold)
            self.family, self.codepoints = "InvoiceSans", font.codepoints
        self.currency = self.safe(_clean(invoice.currency, 8).upper())
        self.seller = self.safe(invoice.seller_name, 120)
        self.number = self.safe(invoice.number, 80)
        self.set_title(f"Invoice {_clean(invoice.number, 80)}")
        self.set_subject(f"Order {_clean(invoice.order_number, 80)}")
        self.set_author(_clean(invoice.seller_name, 120))
        self.set_creator(_clean(invoice.seller_name, 120))
        self.set_lang("en")
        self.set_creation_date(_utc(invoice.issued_at))

    def safe(self, value: object, limit: int = 200) -> str:
        """``_clean`` text with every character the font lacks replaced (see module doc)."""
        out = []
        for char in _clean(value, limit):
            if ord(char) in self.codepoints:
                out.append(char)
                continue
            decomposed = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if ord(part) in self.codepoints and not unicodedata.combining(part)
            )
            if decomposed:
                out.append(decomposed)
            elif unicodedata.category(char) not in ("Mn", "Me"):
                out.append("?")
        return "".join(out)

    def style(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def longest_prefix(self, text: str, room: float) -> int:
        """How many leading characters of ``text`` fit in ``room`` in the current font."""
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self.get_string_width(text[:middle]) <= room:
                low = middle
            else:
                high = middle - 1
        return low

    def fit(self, text: str, width: float, truncated: bool = False) -> str:
        """``text`` cut to a cell ``width`` wide, with an ellipsis if cut (or if ``truncated``:
        it already lost its end)."""
        room = width - 2 * self.c_margin
        if not truncated and self.get_string_width(text) <= room:
            return text
        keep = self.longest_prefix(text, room - self.get_string_width(ELLIPSIS))
        return text[:keep].rstrip() + ELLIPSIS

    def wrap(self, text: str, width: float, max_lines: int) -> list[str]:
        """``text`` broken into lines at spaces, or inside words longer than a line, the last
        kept line ending in an ellipsis if more would follow. (Not ``multi_cell(dry_run)``: its
        lines come back cp1252-encoded under a core font.)"""
        room = width - 2 * self.c_margin
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self.get_string_width(candidate) <= room:
                current = candidate
                continue
            if current:
                lines.append(current)
            while len(lines) <= max_lines and self.get_string_width(word) > room:
                keep = max(1, self.longest_prefix(word, room))
                lines.append(word[:keep])
                word = word[keep:]
            current = word
            if len(lines) > max_lines:
                break
        if current:
            lines.append(current)
        if len(lines) <= max_lines:
            return lines
        return [*lines[: max_lines - 1], self.fit(lines[max_lines - 1], width, truncated=True)]

    def put(
        self, x: float, y: float, width: float, height: float, text: str, align: str = "L"
    ) -> None:
        self.set_xy(x, y)
        self.cell(width, height, self.fit(text, width), align=align)

    def put_lines(
        self, x: float, y: float, width: float, height: float, lines: Iterable[str]
    ) -> float:
        for line in lines:
            self.put(x, y, width, height, line)
            y += height
        return y

    def rule(self, y: float, color: tuple[int, int, int] = RULE, weight: float = 0.2) -> None:
        self.set_draw_color(*color)
        self.set_line_width(weight)
        self.line(LEFT, y, RIGHT, y)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.style(9, bold=True)
        self.put(LEFT, 10, 100, 5, self.seller)
        self.style(8, color=MUTED)
        self.put(RIGHT - 74, 10, 74, 5, f"Invoice {self.number} (continued)", align="R")
        self.rule(16.5)
        self.set_y(22)

    def footer(self) -> None:
        self.rule(FOOTER_Y - 2)
        self.style(7.5, color=MUTED)
        self.put(LEFT, FOOTER_Y, 130, 4, f"{self.seller} · Invoice {self.number}")
        self.put(RIGHT - 40, FOOTER_Y, 40, 4, f"Page {self.page_no()} of {self.page_count}", "R")

    def draw(self) -> None:
        self.add_page()
        self.draw_heading()
        self.draw_parties()
        self.draw_table_header()
        for line in self.invoice.lines:
            self.draw_line(line)
        self.draw_totals()

    def draw_heading(self) -> None:
        invoice = self.invoice
        self.style(15, bold=True)
        left_y = self.put_lines(LEFT, TOP, 100, 7, self.wrap(self.seller, 100, 2))
        self.style(8.5, color=MUTED)
        address = [self.safe(line) for line in str(invoice.seller_address or "").splitlines()]
        wrapped = [part for line in address if line for part in self.wrap(line, 100, 2)]
        left_y = self.put_lines(LEFT, left_y + 1, 100, 4.2, wrapped[:6])

        self.style(22, bold=True, color=ACCENT)
        self.put(RIGHT - 70, TOP - 1, 70, 10, "INVOICE", align="R")
        facts = [
            ("Invoice no.", self.number),
            ("Order no.", self.safe(invoice.order_number, 80)),
            ("Issue date", _date(invoice.issued_at)),
        ]
        if invoice.paid_at is not None:
            facts.append(("Paid on", _date(invoice.paid_at)))
        right_y = TOP + 11
        for label, value in facts:
            self.style(8.5, color=MUTED)
            self.put(RIGHT - 74, right_y, 22, 4.6, label)
            self.style(8.5)
            self.put(RIGHT - 52, right_y, 52, 4.6, value, align="R")
            right_y += 4.6
        self.rule(max(left_y, right_y) + 5)
        self.set_y(max(left_y, right_y) + 10)

    def draw_parties(self) -> None:
        invoice = self.invoice
        top = self.get_y()
        self.style(7.5, bold=True, color=MUTED)
        self.put(LEFT, top, 100, 4, "BILL TO")
        self.put(RIGHT - 74, top, 74, 4, "PAYMENT")
        self.style(9.5, bold=True)
        left_y = self.put_lines(
            LEFT, top + 5, 100, 5, self.wrap(self.safe(invoice.buyer_name), 100, 2)
        )
        self.style(9)
        left_y = self.put_lines(LEFT, left_y, 100, 4.6, [self.safe(invoice.buyer_email, 254)])
        address = [self.safe(line) for line in invoice.buyer_address[:12]]
        wrapped = [part for line in address if line for part in self.wrap(line, 100, 2)]
        left_y = self.put_lines(LEFT, left_y, 100, 4.6, wrapped[:6])
        payment = [
            self.safe(invoice.payment_method, 80),
            f"Status: {self.safe(invoice.status, 40)}",
            f"Currency: {self.currency}",
        ]
        right_y = self.put_lines(RIGHT - 74, top + 5, 74, 4.6, payment)
        self.set_y(max(left_y, right_y) + 8)

    def draw_table_header(self) -> None:
        y = self.get_y()
        self.set_fill_color(*HEAD_FILL)
        self.rect(LEFT, y, WIDTH, 7.5, style="F")
        self.style(8.5, bold=True, color=MUTED)
        x = LEFT
        for title, width, align in COLUMNS:
            self.put(x, y + 1.5, width, 4.5, title, align)
            x += width
        self.set_y(y + 7.5)

    def draw_line(self, line: InvoiceLine) -> None:
        item_width = COLUMNS[0][1]
        self.style(9, bold=True)
        name = self.wrap(self.safe(line.description, 300), item_width, 2) or [""]
        self.style(8)
        detail = self.wrap(self.safe(line.detail, 300), item_width, 2)
        height = 2 * ROW_PAD + 4.6 * len(name) + 4.0 * len(detail)
        if self.will_page_break(height):
            self.add_page()
            self.draw_table_header()
        y = self.get_y()
        self.style(9, bold=True)
        after_name = self.put_lines(LEFT, y + ROW_PAD, item_width, 4.6, name)
        self.style(8, color=MUTED)
        self.put_lines(LEFT, after_name, item_width, 4.0, detail)
        amounts = (
            _money(line.unit_price, self.currency),
            _minus(line.discount, self.currency),
            _money(line.tax, self.currency),
            _money(line.total, self.currency),
        )
        x = LEFT + item_width
        for amount, (_, width, align) in zip(amounts, COLUMNS[1:], strict=True):
            self.put_amount(x, y + ROW_PAD, width, 4.6, amount, 9, align)
            x += width
        self.rule(y + height)
        self.set_y(y + height)

    def put_amount(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        text: str,
        size: float,
        align: str = "R",
        bold: bool = False,
        color: tuple[int, int, int] = INK,
    ) -> None:
        """Amounts are never cut: a long one is set smaller until it fits (down to 6 pt)."""
        self.style(size, bold, color)
        while size > 6 and self.get_string_width(text) > width - 2 * self.c_margin:
            size -= 0.5
            self.style(size, bold, color)
        self.set_xy(x, y)
        self.cell(width, height, text, align=align)

    def totals(self) -> list[tuple[str, str, bool, tuple[int, int, int]]]:
        invoice, currency = self.invoice, self.currency
        rows = [("Subtotal", _money(invoice.subtotal, currency), False, INK)]
        coupon = self.safe(invoice.coupon_code, 40) if invoice.coupon_code else ""
        if invoice.discount or coupon:
            label = f"Discount (coupon {coupon})" if coupon else "Discount"
            rows.append((label, _minus(invoice.discount, currency), False, INK))
        rate = _percent(invoice.tax_rate_percent)
        rows.append((f"Tax ({rate})", _money(invoice.tax, currency), False, INK))
        rows.append(("Total", _money(invoice.total, currency), True, INK))
        if invoice.refunded_amount:
            rows.append(("Refunded", _minus(invoice.refunded_amount, currency), False, STAMP))
            net = invoice.total - invoice.refunded_amount
            rows.append(("Net paid", _money(net, currency), True, INK))
        return rows

    def draw_totals(self) -> None:
        rows = self.totals()
        height = 4 + 6.2 * len(rows) + 16
        if self.will_page_break(height):
            self.add_page()
        top = self.get_y() + 4
        y = top
        label_x, label_w, value_w = RIGHT - 88, 56, 32
        for label, value, bold, color in rows:
            if bold:
                self.set_draw_color(*INK)
                self.set_line_width(0.3)
                self.line(label_x, y + 0.6, RIGHT, y + 0.6)
                y += 1.6
            size = 10.5 if bold else 9
            self.style(size, bold, color)
            self.put(label_x, y, label_w, 5.6, label)
            self.put_amount(RIGHT - value_w, y, value_w, 5.6, value, size, bold=bold, color=color)
            y += 6.2
        if self.refunded():
            self.draw_stamp(LEFT + 32, top + 12)
        self.style(8, color=MUTED)
        self.put(LEFT, y + 6, WIDTH, 4, "Thank you for your purchase.")
        self.set_y(y + 10)

    def refunded(self) -> bool:
        invoice = self.invoice
        return bool(invoice.refunded_amount) or _clean(invoice.status, 40).lower() == "refunded"

    def draw_stamp(self, center_x: float, center_y: float) -> None:
        invoice = self.invoice
        refunded = invoice.refunded_amount
        partial = refunded is not None and refunded != 0 and refunded < invoice.total
        word = "PARTIALLY REFUNDED" if partial else "REFUNDED"
        self.style(11 if partial else 18, bold=True, color=STAMP)
        width = self.get_string_width(word) + 8
        with self.rotation(12, center_x, center_y):
            self.set_draw_color(*STAMP)
            self.set_line_width(0.8)
            self.rect(center_x - width / 2, center_y - 6, width, 12, round_corners=True)
            self.set_xy(center_x - width / 2, center_y - 6)
            self.cell(width, 12, word, align="C")


@contextmanager
def _laid_out(
    invoice: Invoice, font: _UnicodeFont | None, page_count: int
) -> Iterator[_InvoicePDF]:
    """The drawn document; its font files are closed on exit (fontTools keeps them open)."""
    pdf = _InvoicePDF(invoice, font, page_count)
    try:
        pdf.draw()
        yield pdf
    finally:
        for face in pdf.fonts.values():
            if isinstance(face, TTFFont):
                face.ttfont.close()


def render_invoice(invoice: Invoice) -> bytes:
    """The invoice as a PDF. Never fails on what users typed (see the module doc)."""
    font = _find_unicode_font(FONT_DIRS)
    with _laid_out(invoice, font, page_count=0) as draft:
        pages = draft.pages_count
    with _laid_out(invoice, font, page_count=pages) as pdf:
        return bytes(pdf.output())
