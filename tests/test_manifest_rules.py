"""The manifest schema, the checks against the listing, and version numbers and ranges,
table by table. The manifest is read out of real archives where the archive matters."""

import json
from pathlib import Path

import pytest
from packaging.version import Version

from domain.archive import ArchiveLimits, check_entries
from domain.errors import Conflict, DomainError, ErrorKind
from domain.manifest import (
    MAX_DESCRIPTION,
    MAX_MANIFEST_BYTES,
    MAX_TAGS,
    Manifest,
    check_manifest_against_listing,
    parse_manifest,
)
from domain.semver import (
    SemVer,
    fastvue_range_bounds,
    is_compatible,
    parse_semver,
)
from integrations import zip_archive
from tests import archives
from tests.archives import TECHNICAL_NAME

LIMITS = ArchiveLimits()
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with a ZWNJ


def sample() -> dict:
    return archives.sample_manifest()


def encoded(**changes) -> bytes:
    """The sample manifest with fields replaced; ``...`` removes a field."""
    data = {**sample(), **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def parse_error(raw: bytes) -> DomainError:
    with pytest.raises(DomainError) as raised:
        parse_manifest(raw)
    return raised.value


def listing_error(manifest: Manifest, **overrides) -> DomainError:
    arguments = {
        "technical_name": TECHNICAL_NAME,
        "used_versions": set(),
        "known_modules": {"base_module"},
    } | overrides
    with pytest.raises(DomainError) as raised:
        check_manifest_against_listing(manifest, **arguments)
    return raised.value


# --- manifests read out of archives ---------------------------------------------------


def manifest_of(tmp_path: Path, data: bytes) -> Manifest:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    summary = check_entries(zip_archive.read_entries(path), TECHNICAL_NAME, LIMITS)
    zip_archive.verify_crcs(path, LIMITS)
    return parse_manifest(zip_archive.read_member(path, summary.manifest_path, 64 * 1024))


def test_the_sample_manifest_parses_and_fits_its_listing(tmp_path):
    manifest = manifest_of(tmp_path, archives.sample_zip())

    check_manifest_against_listing(manifest, TECHNICAL_NAME, {"0.9.0"}, set())
    assert manifest.model_dump() == {
        "technical_name": "hello_fastvue",
        "version": "1.0.0",
        "display_name": "Hello FastVue",
        "summary": "A greeting widget and endpoint for FastVue dashboards.",
        "description": sample()["description"],
        "license": "MIT",
        "category": "productivity",
        "tags": ["greeting", "dashboard", "widget"],
        "fastvue_versions": ">=2.0,<3",
        "python_versions": ">=3.10",
        "dependencies": [],
        "external_dependencies": {"httpx": ">=0.27"},
    }
    assert fastvue_range_bounds(manifest.fastvue_versions) == ("2.0", "3")


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (archives.malformed_manifest, "manifest_not_json"),
        (archives.wrong_technical_name_manifest, "technical_name_mismatch"),
        (archives.non_semver_manifest, "version_not_semver"),
    ],
    ids=["malformed-json", "wrong-technical-name", "non-semver-version"],
)
def test_hostile_manifest_in_a_sound_archive(tmp_path, build, code):
    with pytest.raises(DomainError) as raised:
        manifest = manifest_of(tmp_path, build())  # the archive itself is fine
        check_manifest_against_listing(manifest, TECHNICAL_NAME, set(), set())
    assert raised.value.code == code


# --- parsing ------------------------------------------------------------------------------

NOT_JSON = [
    ("empty", b""),
    ("truncated", b'{"technical_name": "hello_fastvue"'),
    ("python-literal", b"{'technical_name': 'hello_fastvue'}"),
    ("trailing-comma", b'{"version": "1.0.0",}'),
    ("nan", encoded(version="1.0.0")[:-1] + b', "x": NaN}'),
    ("infinity", b'{"version": Infinity}'),
    ("utf-16", json.dumps(sample()).encode("utf-16")),
    (
        "latin-1",
        json.dumps({**sample(), "display_name": "Caf\u00e9"}, ensure_ascii=False).encode("latin-1"),
    ),
    ("deep-nesting", b"[" * 30_000 + b"]" * 30_000),
    ("huge-number", b'{"version": ' + b"9" * 5000 + b"}"),
]


@pytest.mark.parametrize("raw", [c[1] for c in NOT_JSON], ids=[c[0] for c in NOT_JSON])
def test_what_is_not_json(raw):
    assert parse_error(raw).code == "manifest_not_json"


def test_a_leading_bom_is_accepted():
    assert parse_manifest(b"\xef\xbb\xbf" + encoded()).technical_name == TECHNICAL_NAME


def test_an_oversized_manifest_is_refused_before_parsing():
    raw = encoded(description=" " * MAX_MANIFEST_BYTES)

    assert parse_error(raw).code == "manifest_too_large"


INVALID = [
    # id, raw manifest, code, text the detail must contain
    ("top-level-list", b"[]", "manifest_invalid", "manifest"),
    ("duplicate-key", encoded()[:-1] + b', "version": "9.9.9"}', "manifest_invalid", "'version'"),
    ("unknown-key", encoded(fastvue_version=">=2"), "manifest_invalid", "fastvue_version"),
    ("no-technical-name", encoded(technical_name=...), "manifest_invalid", "technical_name"),
    ("no-version", encoded(version=...), "manifest_invalid", "version"),
    ("no-display-name", encoded(display_name=...), "manifest_invalid", "display_name"),
    ("no-summary", encoded(summary=...), "manifest_invalid", "summary"),
    ("no-license", encoded(license=...), "manifest_invalid", "license"),
    ("no-fastvue-range", encoded(fastvue_versions=...), "manifest_invalid", "fastvue_versions"),
    ("no-python-range", encoded(python_versions=...), "manifest_invalid", "python_versions"),
    ("version-number", encoded(version=1.0), "manifest_invalid", "version"),
    ("empty-version", encoded(version=""), "manifest_invalid", "version"),
    ("long-version", encoded(version="1.0.0-" + "a" * 50), "manifest_invalid", "version"),
    ("tags-string", encoded(tags="greeting"), "manifest_invalid", "tags"),
    ("tag-number", encoded(tags=["a", 2]), "manifest_invalid", "tags.1"),
    ("blank-tag", encoded(tags=["a", "  "]), "manifest_invalid", "tags.1"),
    (
        "too-many-tags",
        encoded(tags=[f"t{i}" for i in range(MAX_TAGS + 1)]),
        "manifest_invalid",
        "tags",
    ),
    ("long-tag", encoded(tags=["t" * 51]), "manifest_invalid", "tags.0"),
    ("upper-technical-name", encoded(technical_name="Hello"), "manifest_invalid", "technical_name"),
    ("path-technical-name", encoded(technical_name="../x"), "manifest_invalid", "technical_name"),
    (
        "long-technical-name",
        encoded(technical_name="a" * 101),
        "manifest_invalid",
        "technical_name",
    ),
    ("blank-display-name", encoded(display_name="   "), "manifest_invalid", "display_name"),
    ("long-display-name", encoded(display_name="x" * 201), "manifest_invalid", "display_name"),
    ("long-summary", encoded(summary="x" * 501), "manifest_invalid", "summary"),
    (
        "long-description",
        encoded(description="x" * (MAX_DESCRIPTION + 1)),
        "manifest_invalid",
        "description",
    ),
    ("nul-in-name", encoded(display_name="Hello\u0000"), "manifest_invalid", "display_name"),
    ("newline-in-summary", encoded(summary="one\ntwo"), "manifest_invalid", "summary"),
    (
        "rlo-in-name",
        encoded(display_name="Hello \u202egnp.exe"),
        "manifest_invalid",
        "display_name",
    ),
    ("rlm-in-name", encoded(display_name="Hello \u200fexe"), "manifest_invalid", "display_name"),
    ("lrm-in-summary", encoded(summary="one \u200e two"), "manifest_invalid", "summary"),
    ("alm-in-summary", encoded(summary="one \u061c two"), "manifest_invalid", "summary"),
    ("isolate-in-tag", encoded(tags=["a\u2067b"]), "manifest_invalid", "tags.0"),
    (
        "override-in-description",
        encoded(description="line one\nline \u202etwo"),
        "manifest_invalid",
        "description",
    ),
    (
        "escape-in-description",
        encoded(description="\x1b[31mred"),
        "manifest_invalid",
        "description",
    ),
    ("category-name", encoded(category="Productivity Tools"), "manifest_invalid", "category"),
    ("license-list", encoded(license=["MIT"]), "manifest_invalid", "license"),
    ("dependencies-dict", encoded(dependencies={"a": 1}), "manifest_invalid", "dependencies"),
    (
        "bad-dependency-name",
        encoded(dependencies=["Base-Module"]),
        "manifest_invalid",
        "dependencies.0",
    ),
    ("dependency-twice", encoded(dependencies=["a", "a"]), "manifest_invalid", "dependencies"),
    (
        "too-many-dependencies",
        encoded(dependencies=[f"m{i}" for i in range(101)]),
        "manifest_invalid",
        "dependencies",
    ),
    (
        "external-as-list",
        encoded(external_dependencies=["httpx"]),
        "manifest_invalid",
        "external_dependencies",
    ),
    (
        "package-with-extra",
        encoded(external_dependencies={"httpx[http2]": ">=0.27"}),
        "manifest_invalid",
        "httpx[http2]",
    ),
    (
        "package-option",
        encoded(external_dependencies={"--index-url": "x"}),
        "manifest_invalid",
        "--index-url",
    ),
    (
        "package-newline",
        encoded(external_dependencies={"a\n-e .": ">=1"}),
        "manifest_invalid",
        "external_dependencies",
    ),
    (
        "package-twice",
        encoded(external_dependencies={"Requests": ">=2", "requests": "<3"}),
        "manifest_invalid",
        "external_dependencies",
    ),
    ("range-number", encoded(external_dependencies={"httpx": 1}), "manifest_invalid", "httpx"),
    (
        "range-and-schema",
        encoded(fastvue_versions="2.x", license=...),
        "manifest_invalid",
        "fastvue_versions",
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "where"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_manifests(raw, code, where):
    error = parse_error(raw)

    assert (error.code, error.kind) == (code, ErrorKind.INVALID)
    assert where in error.detail


def test_the_detail_names_every_problem():
    error = parse_error(encoded(version=2, summary="", fastvue_versions="two"))

    assert error.detail.count(";") == 2
    for field in ("version", "summary", "fastvue_versions"):
        assert field in error.detail


BAD_RANGES = [
    ("not-a-range", encoded(fastvue_versions="2.x"), "fastvue_versions"),
    ("double-operator", encoded(fastvue_versions=">=2.0,<<3"), "fastvue_versions"),
    ("empty-range", encoded(fastvue_versions=">=3,<2"), "no FastVue version"),
    ("arbitrary-equality", encoded(fastvue_versions="===2.0"), "==="),
    ("epoch", encoded(fastvue_versions=">=1!2.0"), "epoch"),
    ("python-range", encoded(python_versions=">=3.10;os_name=='nt'"), "python_versions"),
    (
        "url-dependency",
        encoded(external_dependencies={"httpx": "@ https://evil.example/h.whl"}),
        "httpx",
    ),
    ("bare-version", encoded(external_dependencies={"httpx": "0.27"}), "httpx"),
    ("marker", encoded(external_dependencies={"httpx": ">=0.27; python_version<'4'"}), "httpx"),
]


@pytest.mark.parametrize(
    ("raw", "where"), [c[1:] for c in BAD_RANGES], ids=[c[0] for c in BAD_RANGES]
)
def test_invalid_version_ranges(raw, where):
    error = parse_error(raw)

    assert error.code == "invalid_version_range"
    assert where in error.detail


ACCEPTED = [
    # id, changes, field, parsed value
    ("no-optional-fields", {"description": ..., "category": ..., "tags": ...}, "tags", []),
    ("null-description", {"description": None}, "description", None),
    ("null-category", {"category": None}, "category", None),
    ("no-dependencies", {"dependencies": ..., "external_dependencies": ...}, "dependencies", []),
    ("trimmed-display-name", {"display_name": "  Hello  "}, "display_name", "Hello"),
    ("multi-line-description", {"description": "a\n\tb\r\n"}, "description", "a\n\tb"),
    ("persian-zwnj", {"display_name": PERSIAN}, "display_name", PERSIAN),
    (
        "emoji-zwj",
        {"summary": "Family \U0001f468\u200d\U0001f469"},
        "summary",
        "Family \U0001f468\u200d\U0001f469",
    ),
    (
        "unpinned-package",
        {"external_dependencies": {"httpx": ""}},
        "external_dependencies",
        {"httpx": ""},
    ),
    (
        "dotted-package",
        {"external_dependencies": {"zope.interface": "~=6.0"}},
        "external_dependencies",
        {"zope.interface": "~=6.0"},
    ),
    (
        "dependencies",
        {"dependencies": ["base_module", "crm"]},
        "dependencies",
        ["base_module", "crm"],
    ),
    ("wildcard-range", {"fastvue_versions": "==2.*"}, "fastvue_versions", "==2.*"),
    ("prerelease-version", {"version": "2.0.0-rc.1"}, "version", "2.0.0-rc.1"),
    (
        "limit-lengths",
        {"display_name": "x" * 200, "tags": ["t" * 50] * MAX_TAGS},
        "display_name",
        "x" * 200,
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "value"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_accepted_manifests(changes, field, value):
    assert getattr(parse_manifest(encoded(**changes)), field) == value


def test_code_in_a_manifest_is_only_text():
    raw = encoded(description="__import__('os').system('touch /tmp/pwned')")

    assert parse_manifest(raw).description == "__import__('os').system('touch /tmp/pwned')"


# --- against the listing ------------------------------------------------------------------


def manifest(**changes) -> Manifest:
    return parse_manifest(encoded(**changes))


def test_a_manifest_that_fits_its_listing():
    check_manifest_against_listing(
        manifest(version="1.1.0", dependencies=["base_module"]),
        TECHNICAL_NAME,
        {"1.0.0", "1.1.0-rc.1", "legacy"},
        {"base_module", "other"},
    )


LISTING = [
    # id, manifest changes, check overrides, code
    ("other-module", {"technical_name": "other_module"}, {}, "technical_name_mismatch"),
    ("two-parts", {"version": "1.0"}, {}, "version_not_semver"),
    ("v-prefix", {"version": "v1.0.0"}, {}, "version_not_semver"),
    ("four-parts", {"version": "1.0.0.0"}, {}, "version_not_semver"),
    ("leading-zero", {"version": "01.0.0"}, {}, "version_not_semver"),
    ("padded", {"version": " 1.0.0"}, {}, "version_not_semver"),
    ("pep440-style", {"version": "1.0.0rc1"}, {}, "version_not_semver"),
    ("too-big-for-column", {"version": "2147483648.0.0"}, {}, "version_not_semver"),
    ("used", {}, {"used_versions": {"1.0.0"}}, "version_already_used"),
    (
        "used-then-rejected",
        {"version": "0.1.0"},
        {"used_versions": {"0.1.0", "1.0.0"}},
        "version_already_used",
    ),
    (
        "same-but-build",
        {"version": "1.0.0+build.7"},
        {"used_versions": {"1.0.0"}},
        "version_already_used",
    ),
    (
        "build-of-used",
        {"version": "1.0.0"},
        {"used_versions": {"1.0.0+ci.1"}},
        "version_already_used",
    ),
    ("self", {"dependencies": [TECHNICAL_NAME]}, {}, "self_dependency"),
    ("unknown", {"dependencies": ["base_module", "ghost"]}, {}, "unknown_dependency"),
    (
        "nothing-known",
        {"dependencies": ["base_module"]},
        {"known_modules": set()},
        "unknown_dependency",
    ),
]


@pytest.mark.parametrize(
    ("changes", "overrides", "code"), [c[1:] for c in LISTING], ids=[c[0] for c in LISTING]
)
def test_listing_rules(changes, overrides, code):
    assert listing_error(manifest(**changes), **overrides).code == code


def test_a_reused_version_is_a_conflict():
    error = listing_error(manifest(), used_versions={"1.0.0"})

    assert isinstance(error, Conflict)
    assert error.kind is ErrorKind.CONFLICT


def test_unknown_dependencies_are_all_named():
    error = listing_error(manifest(dependencies=["ghost", "base_module", "phantom"]))

    assert "'ghost'" in error.detail and "'phantom'" in error.detail
    assert "base_module" not in error.detail


# --- SemVer -------------------------------------------------------------------------------

SEMVER = [
    ("1.2.3", SemVer(1, 2, 3)),
    ("0.0.0", SemVer(0, 0, 0)),
    ("1.0.0-alpha.1", SemVer(1, 0, 0, "alpha.1")),
    ("1.0.0+20260101", SemVer(1, 0, 0, None, "20260101")),
    ("1.0.0-rc.1+exp.sha.5114f85", SemVer(1, 0, 0, "rc.1", "exp.sha.5114f85")),
    ("2147483647.0.0", SemVer(2**31 - 1, 0, 0)),
]


@pytest.mark.parametrize(("text", "expected"), SEMVER, ids=[c[0] for c in SEMVER])
def test_parse_semver(text, expected):
    parsed = parse_semver(text)

    assert (parsed.major, parsed.minor, parsed.patch) == (
        expected.major,
        expected.minor,
        expected.patch,
    )
    assert (parsed.prerelease, parsed.build) == (expected.prerelease, expected.build)
    assert parsed.is_prerelease is (expected.prerelease is not None)
    assert str(parsed) == text


NOT_SEMVER = [
    "",
    "1",
    "1.0",
    "1.0.0.0",
    "v1.0.0",
    "1.0.0 ",
    "1.0.0\n",
    "1.0.0-",
    "1.0.0-01",
    "1.0.0+",
    "-1.0.0",
    "1.a.0",
    "1.0.0-rc..1",
    "99999999999.0.0",
    "1." * 30 + "0",
]


@pytest.mark.parametrize("text", NOT_SEMVER)
def test_not_semver(text):
    with pytest.raises(DomainError) as raised:
        parse_semver(text)
    assert raised.value.code == "version_not_semver"


def test_semver_precedence_follows_the_spec():
    # The example of SemVer 2.0 section 11, shuffled.
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = [ordered[i] for i in (7, 3, 11, 0, 5, 9, 1, 10, 6, 2, 8, 4)]

    assert sorted(shuffled, key=parse_semver) == ordered
    assert parse_semver("1.0.0+a") == parse_semver("1.0.0+b")
    assert hash(parse_semver("1.0.0+a")) == hash(parse_semver("1.0.0"))
    assert parse_semver("1.0.0-rc.1") < parse_semver("1.0.0") <= parse_semver("1.0.0+z")


# --- FastVue compatibility ranges -----------------------------------------------------------

BOUNDS = [
    (">=2.0,<3", ("2.0", "3")),
    (">=2.0", ("2.0", None)),
    ("<3", (None, "3")),
    ("", (None, None)),
    ("!=2.5", (None, None)),
    ("~=2.1", ("2.1", "3")),
    ("~=1.4.5", ("1.4.5", "1.5")),
    ("==2.*", ("2", "3")),
    ("==2.1.*", ("2.1", "2.2")),
    ("==2.1.0", ("2.1.0", "2.1.1")),
    (">2.0", ("2.0.1", None)),
    ("<=2.5", (None, "2.5.1")),
    (">3.0rc1", ("3.0.0", None)),
    (">=2.0, >=2.4, <4, <3.5", ("2.4", "3.5")),
    (">=2.0,<=2.0", ("2.0", "2.0.1")),
    (">=2.0,<3,!=2.5.*", ("2.0", "3")),
]


@pytest.mark.parametrize(("spec", "expected"), BOUNDS, ids=[c[0] or "any" for c in BOUNDS])
def test_fastvue_range_bounds(spec, expected):
    assert fastvue_range_bounds(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["2.x", ">=3,<2", ">=2.0,<2.0", "==2.0,>2.0", "===2.0", ">=1!2.0", ">=" + "1." * 10 + "0"],
)
def test_unusable_fastvue_ranges(spec):
    with pytest.raises(DomainError) as raised:
        fastvue_range_bounds(spec)
    assert raised.value.code == "invalid_version_range"


COMPATIBLE = [
    (">=2.0,<3", "2.0", True),
    (">=2.0,<3", "2.9.9", True),
    (">=2.0,<3", "3.0", False),
    (">=2.0,<3", "1.9", False),
    (">=2.0,<3", "3.0.0rc1", False),
    (">=2.0", "3.0.0rc1", True),
    (">=2.0,<3", "2.5.0.dev1", True),
    ("~=2.1", "2.0.9", False),
    ("!=2.5", "2.5.0", False),
    ("", "9.9", True),
]


@pytest.mark.parametrize(("spec", "version", "expected"), COMPATIBLE)
def test_is_compatible(spec, version, expected):
    assert is_compatible(spec, version) is expected


@pytest.mark.parametrize(
    ("spec", "version", "code"),
    [(">=2.0", "two", "invalid_fastvue_version"), ("2.x", "2.0", "invalid_version_range")],
)
def test_is_compatible_refuses_bad_input(spec, version, code):
    with pytest.raises(DomainError) as raised:
        is_compatible(spec, version)
    assert raised.value.code == code


@pytest.mark.parametrize("spec", [c[0] for c in BOUNDS])
def test_bounds_contain_every_compatible_release(spec):
    """Any final release the range admits lies within the bounds of its row."""
    low, high = fastvue_range_bounds(spec)
    for text in [f"{a}.{b}.{c}" for a in range(1, 5) for b in range(0, 7) for c in range(0, 7)]:
        if is_compatible(spec, text):
            assert low is None or Version(low) <= Version(text)
            assert high is None or Version(text) < Version(high)
