"""Module versions: statuses, pipeline steps, rejection reasons and the scan verdict."""

import re
from enum import StrEnum
from pathlib import PurePosixPath
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


def _scan_reason(code: str, detail: str, **data: Any) -> Reason:
    return Reason(code=code, detail=detail, step=PipelineStep.SCAN, data=data)


class Footprint(BaseModel):
    """What a version brings in, kept to compare the next version with: dependency names,
    file suffixes (``None`` when not recorded, for versions older than the record) and
    scanner finding identities (test id and file, lines ignored)."""

    dependencies: set[str] = Field(default_factory=set)
    file_types: set[str] | None = None
    findings: set[tuple[str, str]] = Field(default_factory=set)


def dependency_names(manifest: dict[str, Any] | None) -> set[str]:
    """Module dependencies as ``module:name``, external ones as ``python:name``
    (PEP 503-normalised, so a respelling is not a new dependency)."""
    if not manifest:
        return set()
    names = {f"module:{name}" for name in manifest.get("dependencies") or []}
    for package in manifest.get("external_dependencies") or {}:
        names.add("python:" + re.sub(r"[-_.]+", "-", str(package)).lower())
    return names


def file_types(names: list[str]) -> set[str]:
    """The lower-cased suffixes of the archive's files (``""`` for none)."""
    return {PurePosixPath(name).suffix.lower() for name in names if not name.endswith("/")}


def finding_identities(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(f.get("test_id", "")), str(f.get("file", ""))) for f in findings}


def novelties(previous: Footprint, current: Footprint) -> list[Reason]:
    """What ``current`` adds over the previously published version: each new dependency,
    file type or scanner finding holds the update for a person. A clean update adds none."""
    reasons: list[Reason] = []
    added = sorted(current.dependencies - previous.dependencies)
    if added:
        reasons.append(
            _scan_reason(
                "new_dependency",
                f"dependencies not in the previous version: {', '.join(added)}",
                dependencies=added,
            )
        )
    if previous.file_types is not None and current.file_types is not None:
        types = sorted(current.file_types - previous.file_types)
        if types:
            reasons.append(
                _scan_reason(
                    "new_file_type",
                    "file types not in the previous version: "
                    + ", ".join(t or "(none)" for t in types),
                    file_types=types,
                )
            )
    found = sorted(current.findings - previous.findings)
    if found:
        reasons.append(
            _scan_reason(
                "new_finding",
                "scanner findings not in the previous version: "
                + ", ".join(f"{test} in {file}" for test, file in found[:10]),
                findings=[{"test_id": test, "file": file} for test, file in found],
            )
        )
    return reasons
