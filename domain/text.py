"""What text a person types may hold: the one rule for names, titles and other one-line
fields, and the looser one for descriptions and other multi-line text.

One line refuses every control character (Unicode ``Cc``: CR, LF, TAB, NUL, ESC, ...),
so a value cannot start a new header, log or CSV line; multi-line text keeps CR, LF and
TAB. Both refuse the bidirectional controls, which make text display in another order
than it reads (``invoice\u202egnp.exe``), and lone surrogates (``Cs``), which no encoding
can carry. Joiners (ZWJ, ZWNJ) and combining marks stay allowed: scripts and emoji need
them.
"""

import unicodedata
from dataclasses import dataclass

BIDI_CONTROLS = frozenset(
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
LINE_BREAKS_AND_TABS = frozenset("\r\n\t")

CONTROL_CHARACTER = "control_character"
BIDI_CONTROL = "bidi_control"


@dataclass(frozen=True)
class TextProblem:
    code: str
    """``control_character`` or ``bidi_control``: machine-readable."""
    char: str

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.char):04X}"

    @property
    def message(self) -> str:
        if self.code == BIDI_CONTROL:
            return f"must not contain the bidirectional control {self.code_point}"
        return f"must not contain the control character {self.code_point}"


def text_problem(value: str, *, multi_line: bool = False) -> TextProblem | None:
    """The first character ``value`` must not hold, or None when it is clean."""
    allowed = LINE_BREAKS_AND_TABS if multi_line else frozenset()
    for char in value:
        if char in BIDI_CONTROLS:
            return TextProblem(BIDI_CONTROL, char)
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return TextProblem(CONTROL_CHARACTER, char)
    return None
