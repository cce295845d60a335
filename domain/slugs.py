"""Slugs and technical names: the identifiers that appear in URLs and workflow ids."""

import re
import unicodedata

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TECHNICAL_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
SLUG_MAX = 100
TECHNICAL_NAME_MAX = 100

_slug_re = re.compile(SLUG_PATTERN)


def slugify(text: str, max_length: int = SLUG_MAX) -> str:
    """Lower-case ASCII words joined by hyphens; empty when nothing usable remains."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:max_length].strip("-")
    return slug


def is_slug(value: str) -> bool:
    return len(value) <= SLUG_MAX and bool(_slug_re.fullmatch(value))
