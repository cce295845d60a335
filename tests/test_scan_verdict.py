"""How code findings and the dependency audit combine into one verdict."""

import pytest

from domain.versions import ScanVerdict, scan_verdict

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
