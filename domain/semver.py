"""Version numbers: modules use strict SemVer 2.0; FastVue compatibility is a PEP 440 range.

A module's own ``version`` is SemVer (``1.4.0``, ``2.0.0-rc.1``) because its order decides
which version is the latest. What FastVue versions it runs on is written the way Python
packaging writes ranges (``>=2.0,<3``), and the version row keeps the range's two ends
(``min_fastvue_version`` / ``max_fastvue_version``) for display and coarse filtering.
"""

from dataclasses import dataclass
from functools import total_ordering

import semver
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from domain.errors import DomainError

MAX_VERSION_LENGTH = 50
"""The width of the version column."""
MAX_NUMBER = 2**31 - 1
"""Major, minor and patch are stored in 32-bit integer columns."""
MAX_BOUND_LENGTH = 20
"""The width of the min/max FastVue version columns."""


@total_ordering
@dataclass(frozen=True, eq=False)
class SemVer:
    """A parsed SemVer 2.0 number, ordered by SemVer precedence.

    Build metadata (``+build.5``) is kept but, as the spec says, ignored when comparing:
    ``1.0.0+a == 1.0.0+b``.
    """

    major: int
    minor: int
    patch: int
    prerelease: str | None = None
    build: str | None = None

    @property
    def is_prerelease(self) -> bool:
        return self.prerelease is not None

    def _precedence(self) -> semver.Version:
        return semver.Version(self.major, self.minor, self.patch, self.prerelease)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._precedence() == other._precedence()

    def __lt__(self, other: "SemVer") -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._precedence() < other._precedence()

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.prerelease))

    def __str__(self) -> str:
        return str(semver.Version(self.major, self.minor, self.patch, self.prerelease, self.build))


def parse_semver(text: str) -> SemVer:
    """Parse a strict SemVer 2.0 number: no ``v`` prefix, no spaces, no leading zeros."""
    if not isinstance(text, str) or len(text) > MAX_VERSION_LENGTH:
        raise DomainError(
            "version_not_semver",
            f"a version is a SemVer string of at most {MAX_VERSION_LENGTH} characters",
        )
    try:
        parsed = semver.Version.parse(text)
    except ValueError:
        raise DomainError(
            "version_not_semver",
            f"{text!r} is not a semantic version such as 1.2.0 or 2.0.0-rc.1",
        ) from None
    if max(parsed.major, parsed.minor, parsed.patch) > MAX_NUMBER:
        raise DomainError("version_not_semver", f"{text!r} has a number larger than {MAX_NUMBER}")
    return SemVer(parsed.major, parsed.minor, parsed.patch, parsed.prerelease, parsed.build)


def parse_range(spec: str) -> SpecifierSet:
    """A PEP 440 specifier set such as ``>=2.0,<3``; code ``invalid_version_range``."""
    try:
        return SpecifierSet(spec)
    except (InvalidSpecifier, TypeError):
        raise DomainError(
            "invalid_version_range",
            f"{spec!r} is not a version range such as '>=2.0,<3'",
        ) from None


def fastvue_range_bounds(spec: str) -> tuple[str | None, str | None]:
    """The lowest FastVue version a range admits and the first one above it (exclusive).

    Exact for ``>=``, ``<``, ``~=`` and ``==X.*``. ``>V``, ``<=V`` and ``==V`` are turned
    into bounds with the next patch release after ``V`` (FastVue releases are
    MAJOR.MINOR.PATCH), and ``!=`` leaves holes the two ends cannot show, so these columns
    are for display and coarse filtering: ``is_compatible`` is the answer for one version.
    Refuses ranges no version satisfies and arbitrary equality (``===``).
    """
    lows: list[Version] = []
    highs: list[Version] = []
    for clause in parse_range(spec):
        low, high = _clause_bounds(clause, spec)
        if low is not None:
            lows.append(low)
        if high is not None:
            highs.append(high)
    low = max(lows, default=None)
    high = min(highs, default=None)
    if low is not None and high is not None and low >= high:
        raise DomainError("invalid_version_range", f"no FastVue version satisfies {spec!r}")
    bounds = (None if low is None else str(low), None if high is None else str(high))
    for bound in bounds:
        if bound is not None and len(bound) > MAX_BOUND_LENGTH:
            raise DomainError(
                "invalid_version_range",
                f"{bound!r} in {spec!r} is longer than {MAX_BOUND_LENGTH} characters",
            )
    return bounds


def _clause_bounds(clause: Specifier, spec: str) -> tuple[Version | None, Version | None]:
    operator, text = clause.operator, clause.version
    if operator == "===":
        raise DomainError(
            "invalid_version_range", f"arbitrary equality ('===') cannot bound {spec!r}"
        )
    if operator == "!=":
        return None, None
    wildcard = text.endswith(".*")  # only == takes one here
    version = Version(text[:-2] if wildcard else text)
    if version.epoch:
        raise DomainError("invalid_version_range", f"FastVue versions have no epoch: {spec!r}")
    if wildcard:
        prefix = list(version.release)
        return version, Version(_join([*prefix[:-1], prefix[-1] + 1]))
    if operator == ">=":
        return version, None
    if operator == ">":
        return _next_release(version), None
    if operator == "<":
        return None, version
    if operator == "<=":
        return None, _next_release(version)
    if operator == "==":
        return version, _next_release(version)
    # "~=X.Y" is ">=X.Y, ==X.*"; "~=X.Y.Z" is ">=X.Y.Z, ==X.Y.*".
    prefix = list(version.release[:-1])
    return version, Version(_join([*prefix[:-1], prefix[-1] + 1]))


def _next_release(version: Version) -> Version:
    """The first final MAJOR.MINOR.PATCH release above ``version``."""
    release = [*version.release, 0, 0][:3]
    if version.pre is not None or (version.dev is not None and version.post is None):
        return Version(_join(release))
    return Version(_join([*release[:2], release[2] + 1]))


def _join(parts: list[int]) -> str:
    return ".".join(map(str, parts))


def is_compatible(spec: str, fastvue_version: str) -> bool:
    """Whether a FastVue instance of ``fastvue_version`` satisfies the range ``spec``.

    A pre-release FastVue counts as the version it is (``3.0.0rc1`` is not ``<3`` but is
    ``>=2.0``), instead of being refused by every range as pip would by default.
    """
    try:
        version = Version(fastvue_version)
    except (InvalidVersion, TypeError):
        raise DomainError(
            "invalid_fastvue_version", f"{fastvue_version!r} is not a FastVue version"
        ) from None
    return parse_range(spec).contains(version, prereleases=True)
