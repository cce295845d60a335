"""The module manifest (``<technical_name>/manifest.json``): parsed as JSON data, never run.

Parsing is strict on purpose. The manifest feeds the listing, the dependency audit (names
and ranges go to pip-audit) and the version row, so a value is either exactly the type
the schema says or the upload is refused: no coercion of numbers to strings, no unknown
keys (a misspelt ``fastvue_version`` would otherwise vanish silently), no duplicate keys
(parsers disagree on which one wins), and every string and list is bounded.
"""

import json
from typing import Annotated, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.errors import Conflict, DomainError
from domain.semver import MAX_VERSION_LENGTH, SemVer, fastvue_range_bounds, parse_semver
from domain.slugs import SLUG_MAX, SLUG_PATTERN, TECHNICAL_NAME_MAX, TECHNICAL_NAME_PATTERN
from domain.text import text_problem

MAX_MANIFEST_BYTES = 64 * 1024
MAX_DESCRIPTION = 20_000
MAX_TAGS = 20
MAX_DEPENDENCIES = 100
MAX_SPECIFIER = 200
MAX_REPORTED_ERRORS = 10

PEP508_NAME_PATTERN = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
PEP508_NAME_MAX = 100
RANGE_ERROR = "invalid_version_range"


def _plain_text(*, multi_line: bool) -> AfterValidator:
    """One line (or several) of text for people, without control characters; see
    ``domain.text``."""

    def check(value: str) -> str:
        problem = text_problem(value, multi_line=multi_line)
        if problem is not None:
            raise PydanticCustomError(problem.code, "{message}", {"message": problem.message})
        return value

    return AfterValidator(check)


def _version_range(value: str) -> str:
    try:
        SpecifierSet(value)
    except InvalidSpecifier:
        raise PydanticCustomError(
            RANGE_ERROR, "'{value}' is not a version range such as '>=2.0,<3'", {"value": value}
        ) from None
    return value


def _fastvue_range(value: str) -> str:
    try:
        fastvue_range_bounds(value)
    except DomainError as error:
        raise PydanticCustomError(RANGE_ERROR, "{detail}", {"detail": error.detail}) from None
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("duplicate_item", "lists the same name more than once")
    return values


TechnicalName = Annotated[
    str, StringConstraints(pattern=TECHNICAL_NAME_PATTERN, max_length=TECHNICAL_NAME_MAX)
]
PackageName = Annotated[
    str, StringConstraints(pattern=PEP508_NAME_PATTERN, max_length=PEP508_NAME_MAX)
]
VersionRange = Annotated[
    str, StringConstraints(max_length=MAX_SPECIFIER), AfterValidator(_version_range)
]
RequiredRange = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_SPECIFIER),
    AfterValidator(_version_range),
]
# One line of display text each, trimmed, between the lengths (spelt out: a type checker
# takes only a literal Annotated[...] as a type).
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    _plain_text(multi_line=False),
]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    _plain_text(multi_line=False),
]
Summary = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    _plain_text(multi_line=False),
]
LicenseName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    _plain_text(multi_line=False),
]


class Manifest(BaseModel):
    """The manifest fields; see ``shared/samples/hello_fastvue`` for a complete one."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    technical_name: TechnicalName
    version: Annotated[str, StringConstraints(min_length=1, max_length=MAX_VERSION_LENGTH)]
    display_name: DisplayName
    summary: Summary
    description: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION),
            _plain_text(multi_line=True),
        ]
        | None
    ) = None
    license: LicenseName
    category: (
        Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=SLUG_MAX)] | None
    ) = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    fastvue_versions: Annotated[RequiredRange, AfterValidator(_fastvue_range)]
    python_versions: RequiredRange
    dependencies: Annotated[
        list[TechnicalName], Field(max_length=MAX_DEPENDENCIES), AfterValidator(_unique)
    ] = Field(default_factory=list)
    external_dependencies: dict[PackageName, VersionRange] = Field(
        default_factory=dict, max_length=MAX_DEPENDENCIES
    )

    @field_validator("external_dependencies")
    @classmethod
    def _distinct_packages(cls, value: dict[str, str]) -> dict[str, str]:
        """``Requests`` and ``requests`` are one package on PyPI."""
        canonical = [canonicalize_name(name) for name in value]
        if len(set(canonical)) != len(canonical):
            raise PydanticCustomError(
                "duplicate_item", "names the same package twice (names are case-insensitive)"
            )
        return value


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_manifest(raw: bytes) -> Manifest:
    """Read a manifest from the bytes of ``manifest.json`` (UTF-8, a leading BOM allowed)."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise DomainError(
            "manifest_too_large",
            f"manifest.json is {len(raw)} bytes, more than {MAX_MANIFEST_BYTES}",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(
            "manifest_not_json", f"manifest.json is not UTF-8 text (byte {error.start})"
        ) from None
    try:
        data = json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constants
        )
    except _DuplicateKey as error:
        raise DomainError(
            "manifest_invalid", f"manifest.json has the key {error.args[0]!r} more than once"
        ) from None
    except (ValueError, RecursionError) as error:
        raise DomainError(
            "manifest_not_json", f"manifest.json is not valid JSON: {error}"
        ) from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise _manifest_error(error) from None


def _manifest_error(error: ValidationError) -> DomainError:
    """``invalid_version_range`` when only ranges are wrong, else ``manifest_invalid``;
    the detail names each problem by its place in the manifest."""
    problems = error.errors(include_url=False)
    lines = [f"{_location(p['loc'])}: {p['msg']}" for p in problems[:MAX_REPORTED_ERRORS]]
    if len(problems) > MAX_REPORTED_ERRORS:
        lines.append(f"and {len(problems) - MAX_REPORTED_ERRORS} more")
    code = RANGE_ERROR if all(p["type"] == RANGE_ERROR for p in problems) else "manifest_invalid"
    return DomainError(code, "; ".join(lines))


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or "manifest"


def check_manifest_against_listing(
    manifest: Manifest,
    technical_name: str,
    used_versions: set[str],
    known_modules: set[str],
) -> None:
    """Rules that need the listing: the manifest names this module, its version is SemVer
    and was never used before (rejected and deleted numbers included, so a download URL
    never changes meaning), and its dependencies are other modules we know."""
    if manifest.technical_name != technical_name:
        raise DomainError(
            "technical_name_mismatch",
            f"the manifest is for {manifest.technical_name!r}, this module is {technical_name!r}",
        )
    version = parse_semver(manifest.version)
    for used in used_versions:
        if used == manifest.version or _same_precedence(used, version):
            raise Conflict(
                "version_already_used",
                f"version {manifest.version} was already uploaded as {used}; "
                "upload it under a new number",
            )
    if technical_name in manifest.dependencies:
        raise DomainError("self_dependency", f"{technical_name!r} cannot depend on itself")
    unknown = [name for name in manifest.dependencies if name not in known_modules]
    if unknown:
        raise DomainError(
            "unknown_dependency",
            f"no published module is named {', '.join(map(repr, unknown))}",
        )


def _same_precedence(used: str, version: SemVer) -> bool:
    """``1.0.0+build.2`` is the same release as ``1.0.0``: SemVer ignores build metadata."""
    try:
        return parse_semver(used) == version
    except DomainError:
        return False
