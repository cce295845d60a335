"""Security scanning of uploaded modules: bandit over the code (in process, the code is only
parsed, never run) and pip-audit over the declared ``external_dependencies`` against an
OSV-compatible service.

A scan that could not look anything up is never a pass: pip-audit's default PyPI service
reports "no known vulnerabilities" when it cannot reach anything, so only ``-s osv`` is used,
and any failure (connection refused, DNS error, timeout, HTTP error, unreadable output)
gives ``status="unavailable"`` for the caller to route to manual review.
"""

import json
import os
import re
import subprocess  # nosec B404  # pip-audit via sys.executable, argument list, no shell
import sys
import tempfile
from pathlib import Path
from typing import Literal

from bandit.core import config as bandit_config
from bandit.core import manager as bandit_manager
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel

from domain.archive import PYTHON_SUFFIXES

Severity = Literal["LOW", "MEDIUM", "HIGH"]

SCAN_ERROR_ID = "SCAN_ERROR"
"""``test_id`` of the findings for files bandit could not scan (syntax errors, symlinks...)."""

_DESCRIPTION_LIMIT = 300
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_LOWER_BOUND_OPERATORS = (">=", "==", "~=")


class Finding(BaseModel):
    file: str
    """Path relative to the scanned root, with ``/`` separators."""
    line: int
    test_id: str
    test_name: str
    severity: Severity
    confidence: Severity
    text: str


def run_bandit(root: Path) -> list[Finding]:
    """Scan every ``.py``/``.pyw`` file under ``root`` (the suffix in any case: ``evil.PY``
    is imported on case-insensitive file systems, and the archive check counts it as code)
    with all of bandit's default tests.

    ``# nosec`` comments are ignored (the code comes from authors we review) and no config
    file from the scanned tree is read. A file bandit cannot parse, and a symlink (never
    followed), gives a HIGH finding with ``test_id == SCAN_ERROR_ID``: unscanned code is not
    clean code.
    """
    root = root.resolve()
    files: list[str] = []
    findings: list[Finding] = []

    def unreadable(error: OSError) -> None:
        name = error.filename or str(root)
        findings.append(_scan_error(root, Path(name), f"could not list: {error.strerror}"))

    for directory, subdirectories, names in os.walk(root, onerror=unreadable):
        here = Path(directory)
        for name in sorted(subdirectories):
            if (here / name).is_symlink():
                findings.append(_scan_error(root, here / name, "symlinked directory not followed"))
        for name in sorted(names):
            path = here / name
            if not name.lower().endswith(PYTHON_SUFFIXES):
                continue
            if path.is_symlink():
                findings.append(_scan_error(root, path, "symlinked file not followed"))
            elif path.is_file():
                files.append(str(path))
    if files:
        findings.extend(_bandit_files(root, files))
    findings.sort(key=lambda f: (f.file, f.line, f.test_id))
    return findings


def _bandit_files(root: Path, files: list[str]) -> list[Finding]:
    manager = bandit_manager.BanditManager(
        bandit_config.BanditConfig(), "file", quiet=True, ignore_nosec=True
    )
    manager.discover_files(files, recursive=False)
    manager.run_tests()
    findings = [
        Finding(
            file=_relative(root, issue.fname),
            line=issue.lineno,
            test_id=issue.test_id,
            test_name=issue.test,
            severity=issue.severity,
            confidence=issue.confidence,
            text=issue.text,
        )
        for issue in manager.get_issue_list()
    ]
    for name, reason in manager.get_skipped():
        findings.append(_scan_error(root, Path(name), f"bandit could not scan it: {reason}"))
    return findings


def _scan_error(root: Path, path: Path, reason: str) -> Finding:
    return Finding(
        file=_relative(root, str(path)),
        line=0,
        test_id=SCAN_ERROR_ID,
        test_name="unscanned_file",
        severity="HIGH",
        confidence="HIGH",
        text=reason,
    )


def _relative(root: Path, name: str) -> str:
    path = Path(os.path.normpath(name))
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class Vulnerability(BaseModel):
    package: str
    """Canonical (PEP 503) name."""
    version: str
    """The version audited: the lowest one the declared specifier admits."""
    id: str
    aliases: list[str] = []
    fix_versions: list[str] = []
    description: str = ""


class AuditResult(BaseModel):
    status: Literal["clean", "vulnerable", "unavailable"]
    vulnerabilities: list[Vulnerability] = []
    unpinned: list[str] = []
    """Declared requirements that were NOT audited (no inclusive lower bound, or an unusable
    name or specifier): they need a manual review whatever ``status`` says."""
    detail: str = ""

    @property
    def passed(self) -> bool:
        """Everything declared was audited and nothing was found."""
        return self.status == "clean" and not self.unpinned


def run_pip_audit(
    requirements: dict[str, str], *, osv_url: str, timeout: float = 120
) -> AuditResult:
    """Audit declared requirements (name -> PEP 440 specifier) against the OSV-compatible
    ``/v1/query`` endpoint at ``osv_url``.

    Each requirement is pinned to the lowest version its specifier admits (``>=``, ``==``,
    ``~=`` lower bounds); one without such a bound is listed in ``unpinned`` and not audited.
    ``timeout`` bounds the whole pip-audit run; on any failure the status is "unavailable".
    """
    pins, unpinned, problems = _pin(requirements)
    notes = [*problems]
    if not pins:
        if unpinned:
            notes.append("nothing left to audit")
        return AuditResult(status="clean", unpinned=unpinned, detail="; ".join(notes))

    with tempfile.TemporaryDirectory(prefix="pip-audit-") as scratch:
        requirements_file = Path(scratch) / "requirements.txt"
        requirements_file.write_text("".join(f"{name}=={v}\n" for name, v in pins.items()))
        output_file = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--vulnerability-service",
            "osv",
            "--osv-url",
            osv_url,
            "--strict",
            "--disable-pip",
            "--no-deps",
            "--requirement",
            str(requirements_file),
            "--format",
            "json",
            "--desc",
            "on",
            "--aliases",
            "on",
            "--output",
            str(output_file),
            "--progress-spinner",
            "off",
            "--cache-dir",
            str(Path(scratch) / "cache"),
            "--timeout",
            str(max(1, min(int(timeout), 30))),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_AUDIT_")}
        try:
            # Not a finding (B603): no shell; the uploader's pins reach pip-audit only in the
            # requirements file, parsed by pip-audit as requirements, never as arguments
            completed = subprocess.run(  # nosec B603
                command,
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            notes.append(f"pip-audit did not finish within {timeout:g} s")
            return AuditResult(status="unavailable", unpinned=unpinned, detail="; ".join(notes))
        except OSError as error:
            notes.append(f"pip-audit could not start: {error}")
            return AuditResult(status="unavailable", unpinned=unpinned, detail="; ".join(notes))
        try:
            report = json.loads(output_file.read_text())
        except (OSError, ValueError):
            report = None

    failure = f"pip-audit failed (exit {completed.returncode}): {_last_line(completed.stderr)}"
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        notes.append(failure)
        return AuditResult(status="unavailable", unpinned=unpinned, detail="; ".join(notes))

    vulnerabilities: list[Vulnerability] = []
    audited: set[str] = set()
    for dependency in report["dependencies"]:
        name = canonicalize_name(str(dependency.get("name", "")))
        if "skip_reason" in dependency or not isinstance(dependency.get("vulns"), list):
            continue
        audited.add(name)
        for vuln in dependency["vulns"]:
            vulnerabilities.append(
                Vulnerability(
                    package=name,
                    version=str(dependency.get("version", "")),
                    id=str(vuln["id"]),
                    aliases=sorted(str(a) for a in vuln.get("aliases") or []),
                    fix_versions=[str(v) for v in vuln.get("fix_versions") or []],
                    description=_shorten(str(vuln.get("description") or "")),
                )
            )
    if vulnerabilities:
        ids = ", ".join(f"{v.package} {v.version}: {v.id}" for v in vulnerabilities)
        notes.append(f"known vulnerabilities: {ids}")
        return AuditResult(
            status="vulnerable",
            vulnerabilities=vulnerabilities,
            unpinned=unpinned,
            detail="; ".join(notes),
        )
    missing = sorted(set(pins) - audited)
    if completed.returncode != 0 or missing:
        notes.append(failure if completed.returncode != 0 else f"not audited: {missing}")
        return AuditResult(status="unavailable", unpinned=unpinned, detail="; ".join(notes))
    notes.append(f"no known vulnerabilities in {len(pins)} pinned requirement(s)")
    return AuditResult(status="clean", unpinned=unpinned, detail="; ".join(notes))


def _pin(requirements: dict[str, str]) -> tuple[dict[str, Version], list[str], list[str]]:
    """Canonical name -> lowest admitted version; names not pinnable; why not."""
    specifiers: dict[str, SpecifierSet] = {}
    unpinned: list[str] = []
    problems: list[str] = []
    for name, specifier in requirements.items():
        if not _NAME_RE.fullmatch(name):  # not match: "$" lets a trailing newline through
            unpinned.append(name)
            problems.append(f"{name!r}: not a valid package name")
            continue
        try:
            parsed = SpecifierSet(specifier or "")
        except InvalidSpecifier:
            unpinned.append(name)
            problems.append(f"{name}: invalid version specifier {specifier!r}")
            continue
        key = canonicalize_name(name)
        specifiers[key] = specifiers[key] & parsed if key in specifiers else parsed
    pins: dict[str, Version] = {}
    for canonical, admitted in specifiers.items():
        lowest = _lowest_admitted(admitted)
        if lowest is None:
            unpinned.append(canonical)
            problems.append(
                f"{canonical}: {str(admitted) or 'any version'} has no usable lower bound"
            )
        else:
            pins[canonical] = lowest
    return pins, unpinned, problems


def _lowest_admitted(specifier: SpecifierSet) -> Version | None:
    bounds: list[Version] = []
    for clause in specifier:
        if clause.operator not in _LOWER_BOUND_OPERATORS:
            continue
        text = clause.version.removesuffix(".*")
        try:
            bounds.append(Version(text))
        except InvalidVersion:
            return None
    if not bounds:
        return None
    lowest = max(bounds)
    return lowest if specifier.contains(lowest, prereleases=True) else None


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return _shorten(lines[-1]) if lines else "no output"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DESCRIPTION_LIMIT else text[: _DESCRIPTION_LIMIT - 1] + "…"
