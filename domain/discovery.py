"""Discovery rules: what the public catalogue lists, how it sorts, how search text is read,
and which FastVue releases a version's compatibility range admits."""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from domain.modules import ModuleStatus, Visibility

TRENDING_WINDOW = timedelta(days=7)
"""Trending counts the downloads of this many days before now."""

SEARCH_QUERY_MAX = 200
SEARCH_TERMS_MAX = 16
"""A query's words beyond this many are ignored: each one is a term to match."""

Release = tuple[int, int, int]


class ModuleSort(StrEnum):
    RELEVANCE = "relevance"
    DOWNLOADS = "downloads"
    RATING = "rating"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"


def effective_sort(sort: ModuleSort | None, *, has_query: bool) -> ModuleSort:
    """Relevance only means something for a text query; without one, most downloaded first."""
    if sort is None:
        return ModuleSort.RELEVANCE if has_query else ModuleSort.DOWNLOADS
    if sort is ModuleSort.RELEVANCE and not has_query:
        return ModuleSort.DOWNLOADS
    return sort


@dataclass(frozen=True)
class ModuleFilters:
    """The narrowing a buyer asks of the catalogue; None (or empty) means "any"."""

    q: str | None = None
    category_slug: str | None = None  # this category and everything under it
    license_type: str | None = None
    min_price: Decimal | None = None  # a free module costs 0
    max_price: Decimal | None = None
    fastvue_version: Release | None = None
    tags: tuple[str, ...] = ()  # all of them
    publisher_slug: str | None = None
    min_rating: Decimal | None = None
    verified_publisher: bool | None = None  # True: verified publishers only


def can_view_by_slug(
    status: str, visibility: str, publisher_status: str, *, is_owner: bool
) -> bool:
    """A module's own page: published public and unlisted modules for anyone, a private
    one for its publisher only. Unpublished modules, and those of a suspended publisher,
    are not on the public site at all (publishers see theirs in the publisher API)."""
    if status != ModuleStatus.PUBLISHED or publisher_status == "suspended":
        return False
    if visibility == Visibility.PRIVATE:
        return is_owner
    return visibility in (Visibility.PUBLIC, Visibility.UNLISTED)


# --- search text ------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def search_terms(text: str) -> list[str]:
    """The words of a user's query, lower-cased: runs of letters and digits in any script.

    Everything else (quotes, ``& | ! : * ( ) <->``, punctuation, control characters) only
    separates words, so what reaches the full-text engine can never be query syntax.
    """
    terms: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in terms:
            terms.append(word)
        if len(terms) == SEARCH_TERMS_MAX:
            break
    return terms


SUGGEST_TERMS_MAX = 4
"""An empty search looks for a closer word for at most this many of its words."""


SUGGESTION_SIMILARITY = 0.3
"""How alike (``trigram_similarity``) a catalogue word must be to a query word to be
offered instead of it."""
SUGGESTION_LENGTH_SLACK = 3
"""A word offered for a query word is at most this many characters longer or shorter."""


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity of two words: shared trigrams (of the word padded with two
    spaces before and one after) over all their trigrams, 0 to 1."""
    left, right = _trigrams(a.lower()), _trigrams(b.lower())
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def closest_word(term: str, vocabulary: list[str]) -> str | None:
    """The word of ``vocabulary`` most like ``term`` (at least ``SUGGESTION_SIMILARITY``;
    ties: the alphabetically first), other than ``term`` itself; None if none is."""
    best: tuple[float, str] | None = None
    for word in vocabulary:
        if word == term or abs(len(word) - len(term)) > SUGGESTION_LENGTH_SLACK:
            continue
        score = trigram_similarity(term, word)
        if score >= SUGGESTION_SIMILARITY and (
            best is None or score > best[0] or (score == best[0] and word < best[1])
        ):
            best = (score, word)
    return best[1] if best else None


def suggested_query(terms: list[str], closest: dict[str, str]) -> str | None:
    """The query with each word that has a closer catalogue word replaced by it; None when
    no word was replaced (nothing to suggest)."""
    if not any(term in closest for term in terms):
        return None
    return " ".join(closest.get(term, term) for term in terms)


@dataclass(frozen=True)
class Segment:
    """A piece of highlighted text: ``match`` marks a word the query matched."""

    text: str
    match: bool


def marked_segments(marked: str, start: str, end: str) -> list[Segment]:
    """``marked`` cut at the ``start``/``end`` markers into plain and matched pieces, the
    markers dropped. Neighbours of the same kind are joined; an unbalanced marker only
    switches the kind, so no marker ever reaches the output."""
    segments: list[Segment] = []
    buffer: list[str] = []
    matching = False

    def flush() -> None:
        if not buffer:
            return
        text = "".join(buffer)
        buffer.clear()
        if segments and segments[-1].match == matching:
            segments[-1] = Segment(segments[-1].text + text, matching)
        else:
            segments.append(Segment(text, matching))

    for char in marked:
        if char in (start, end):
            flush()
            matching = char == start
        else:
            buffer.append(char)
    flush()
    return segments


# --- FastVue compatibility --------------------------------------------------------------

RELEASE_INPUT_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,2}$"
"""What a buyer may ask for: ``2``, ``2.1`` or ``2.1.3`` (missing parts are zero)."""

RANGE_BOUND_PATTERN = (
    r"^v?([0-9]{1,9})(?:\.([0-9]{1,9}))?(?:\.([0-9]{1,9}))?"
    r"(?:[-+][0-9a-z.+-]*|[._]?(?:a|b|c|rc|alpha|beta|pre|preview|dev)[0-9a-z.+-]*)?$"
)
"""A stored range bound (lower-cased first): one to three numbers, optionally a ``v``
before them and a pre-release or build suffix after them (semver ``-rc.1``/``+build``, or
PEP 440 ``rc1``/``.dev0``). The same pattern runs in SQL (see models/repositories/
discovery.py); each number is at most nine digits, so it fits a Postgres integer.

The suffix can be ignored when comparing because buyers ask about releases only: for a
release ``v``, ``v >= 2.0.0-rc1`` is ``v >= 2.0.0`` and ``v < 3.0.0-rc1`` is ``v < 3.0.0``."""

_release_input = re.compile(RELEASE_INPUT_PATTERN)
_range_bound = re.compile(RANGE_BOUND_PATTERN)


def parse_release(text: str) -> Release | None:
    """A FastVue release a buyer asks about, as (major, minor, patch); None if malformed."""
    if not _release_input.fullmatch(text):
        return None
    parts = [int(part) for part in text.split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


def parse_range_bound(text: str) -> Release | None:
    """A stored compatibility bound as (major, minor, patch); None if it cannot be read."""
    found = _range_bound.fullmatch(text.lower())
    if found is None:
        return None
    major, minor, patch = found.groups()
    return int(major), int(minor or 0), int(patch or 0)


def is_compatible(release: Release, minimum: str | None, maximum: str | None) -> bool:
    """``minimum <= release < maximum``; a missing bound is open, an unreadable one admits
    nothing (better to hide a module than to offer one that may not install)."""
    if minimum is not None:
        low = parse_range_bound(minimum)
        if low is None or release < low:
            return False
    if maximum is not None:
        high = parse_range_bound(maximum)
        if high is None or not release < high:
            return False
    return True
