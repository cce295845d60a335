"""Module versions: statuses, pipeline steps, rejection reasons and the scan verdict."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

SEVERITY_ORDER = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}


class VersionStatus(StrEnum):
    PROCESSING = "processing"
    MANUAL_REVIEW = "manual_review"
    REJECTED = "rejected"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"


DOWNLOADABLE = frozenset({VersionStatus.PUBLISHED, VersionStatus.DEPRECATED})


class PipelineStep(StrEnum):
    RECEIVED = "received"
    ARCHIVE = "archive_checks"
    MANIFEST = "manifest"
    HASH = "hash"
    SCAN = "scan"
    MANUAL_REVIEW = "manual_review"
    SIGN = "sign"
    STORE = "store"
    INDEX = "index"
    PUBLISH = "publish"
    DONE = "done"


class Reason(BaseModel):
    """Why a version was rejected or held, in a form a machine can act on."""

    code: str
    detail: str
    step: PipelineStep
    data: dict[str, Any] = Field(default_factory=dict)


class ScanVerdict(StrEnum):
    PASS = "pass"  # nosec B105  # a scan verdict, not a password
    REVIEW = "review"
    REJECT = "reject"


def scan_verdict(
    severities: list[str],
    unscannable: list[str],
    audit_status: str,
    unpinned: list[str],
    *,
    reject_at: str,
    review_at: str,
) -> tuple[ScanVerdict, list[Reason]]:
    """Combine bandit severities and the dependency audit into one verdict.

    A finding at ``reject_at`` or above, or a file the scanner could not read, rejects; at
    ``review_at`` or above, an audit that could not run, or dependencies that cannot be
    audited, hold the version for a person.
    """
    worst = max((SEVERITY_ORDER.get(s.upper(), 0) for s in severities), default=0)
    reasons: list[Reason] = []
    if unscannable:
        reasons.append(
            _scan_reason(
                "unscannable_code",
                f"the scanner could not read: {', '.join(sorted(unscannable)[:10])}",
            )
        )
    if worst >= SEVERITY_ORDER[reject_at]:
        reasons.append(
            _scan_reason(
                "insecure_code", f"the code scan found {reject_at.lower()}-severity issues"
            )
        )
    if audit_status == "vulnerable":
        reasons.append(
            _scan_reason("vulnerable_dependency", "a declared dependency has known vulnerabilities")
        )
    if reasons:
        return ScanVerdict.REJECT, reasons
    if worst >= SEVERITY_ORDER[review_at]:
        reasons.append(
            _scan_reason(
                "code_needs_review", f"the code scan found {review_at.lower()}-severity issues"
            )
        )
    if audit_status == "unavailable":
        reasons.append(
            _scan_reason("audit_unavailable", "the vulnerability service could not be reached")
        )
    if unpinned:
        reasons.append(
            _scan_reason(
                "unbounded_dependency",
                f"no lower version bound to audit: {', '.join(sorted(unpinned))}",
            )
        )
    if reasons:
        return ScanVerdict.REVIEW, reasons
    return ScanVerdict.PASS, []


def _scan_reason(code: str, detail: str) -> Reason:
    return Reason(code=code, detail=detail, step=PipelineStep.SCAN)
