"""How code findings and the dependency audit combine into one verdict."""

import pytest

from domain.versions import (
    Footprint,
    ScanVerdict,
    dependency_names,
    file_types,
    finding_identities,
    novelties,
    scan_verdict,
)

CASES = [
    # severities, unscannable, audit, unpinned -> verdict, reason codes
    ("clean", [], [], "clean", [], ScanVerdict.PASS, []),
    ("low only", ["LOW", "LOW"], [], "clean", [], ScanVerdict.PASS, []),
    ("medium", ["LOW", "MEDIUM"], [], "clean", [], ScanVerdict.REVIEW, ["code_needs_review"]),
    ("high", ["HIGH"], [], "clean", [], ScanVerdict.REJECT, ["insecure_code"]),
    (
        "high beats review",
        ["HIGH", "MEDIUM"],
        [],
        "unavailable",
        [],
        ScanVerdict.REJECT,
        ["insecure_code"],
    ),
    ("unreadable file", [], ["a.py"], "clean", [], ScanVerdict.REJECT, ["unscannable_code"]),
    ("vulnerable", [], [], "vulnerable", [], ScanVerdict.REJECT, ["vulnerable_dependency"]),
    ("audit down", [], [], "unavailable", [], ScanVerdict.REVIEW, ["audit_unavailable"]),
    ("unbounded", [], [], "clean", ["requests"], ScanVerdict.REVIEW, ["unbounded_dependency"]),
    (
        "review reasons add up",
        ["MEDIUM"],
        [],
        "unavailable",
        ["x"],
        ScanVerdict.REVIEW,
        ["code_needs_review", "audit_unavailable", "unbounded_dependency"],
    ),
    ("lower case severities", ["high"], [], "clean", [], ScanVerdict.REJECT, ["insecure_code"]),
]


@pytest.mark.parametrize(
    ("severities", "unscannable", "audit", "unpinned", "verdict", "codes"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_default_thresholds(severities, unscannable, audit, unpinned, verdict, codes):
    got, reasons = scan_verdict(
        severities, unscannable, audit, unpinned, reject_at="HIGH", review_at="MEDIUM"
    )
    assert got is verdict
    assert [r.code for r in reasons] == codes
    assert all(r.step == "scan" for r in reasons)


def test_thresholds_are_settings():
    strict, reasons = scan_verdict(["MEDIUM"], [], "clean", [], reject_at="MEDIUM", review_at="LOW")
    assert strict is ScanVerdict.REJECT and reasons[0].code == "insecure_code"
    lenient, _ = scan_verdict(["LOW"], [], "clean", [], reject_at="HIGH", review_at="HIGH")
    assert lenient is ScanVerdict.PASS


# --- a new version against the previous published one -------------------------------------

BASE = Footprint(
    dependencies={"python:httpx"},
    file_types={".py", ".json"},
    findings={("B101", "pkg/a.py")},
)


def test_a_clean_update_adds_nothing():
    same = Footprint(
        dependencies={"python:httpx"}, file_types={".py"}, findings={("B101", "pkg/a.py")}
    )
    assert novelties(BASE, same) == []


def test_each_kind_of_novelty_is_its_own_reason():
    current = Footprint(
        dependencies={"python:httpx", "python:requests", "module:other"},
        file_types={".py", ".json", ".so"},
        findings={("B101", "pkg/a.py"), ("B602", "pkg/b.py")},
    )
    reasons = {r.code: r for r in novelties(BASE, current)}
    assert set(reasons) == {"new_dependency", "new_file_type", "new_finding"}
    assert reasons["new_dependency"].data == {"dependencies": ["module:other", "python:requests"]}
    assert reasons["new_file_type"].data == {"file_types": [".so"]}
    assert reasons["new_finding"].data == {"findings": [{"test_id": "B602", "file": "pkg/b.py"}]}
    assert all(r.step == "scan" for r in reasons.values())


def test_a_moved_finding_or_respelled_dependency_is_not_new():
    manifest = {"dependencies": [], "external_dependencies": {"HTTPX": ">=1", "Foo_Bar": ">=1"}}
    assert dependency_names(manifest) == {"python:httpx", "python:foo-bar"}
    moved = finding_identities([{"test_id": "B101", "file": "pkg/a.py", "line": 99}])
    assert moved == {("B101", "pkg/a.py")}


def test_file_types_unknown_for_an_older_version_are_not_compared():
    older = Footprint(dependencies={"python:httpx"})
    assert novelties(older, Footprint(dependencies={"python:httpx"}, file_types={".so"})) == []
    assert file_types(["m/", "m/a.PY", "m/LICENSE", "m/x.json"]) == {".py", "", ".json"}
