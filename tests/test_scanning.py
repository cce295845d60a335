"""Scanning with the real tools: bandit in process over files on disk, and the real pip-audit
(a subprocess) against a local OSV-compatible fake, up, down, hanging and absent."""

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations import scanning
from integrations.scanning import SCAN_ERROR_ID, run_bandit, run_pip_audit
from tests.osv_fake import (
    ADVISORY_ALIAS,
    ADVISORY_ID,
    FIXED_VERSION,
    VULNERABLE_PACKAGE,
    FakeOsv,
    osv_fake,
)

SAMPLE = Path("/work/shared/samples/hello_fastvue/hello_fastvue")

RISKY = """\
import hashlib
import subprocess


def run(cmd, data):
    subprocess.call(cmd, shell=True)
    digest = hashlib.md5(data).hexdigest()
    value = eval(data)  # nosec
    exec(data)
    return digest, value
"""

EXPLODES_IF_RUN = """\
from pathlib import Path

Path({marker!r}).write_text("module code was executed")
exec("raise SystemExit(3)")
"""


@pytest.fixture(scope="module")
def osv() -> Iterator[FakeOsv]:
    with osv_fake() as fake:
        yield fake


@pytest.fixture
def fake(osv: FakeOsv) -> Iterator[FakeOsv]:
    osv.mode = "ok"
    osv.requests.clear()
    yield osv
    osv.mode = "ok"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A bound socket that never listens: connecting to it is refused, and no other process
    can take the port while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1/query"


@pytest.fixture
def no_subprocess(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"nothing should run: {args}")

    monkeypatch.setattr(scanning.subprocess, "run", refuse)


def _severe(findings):
    return {(f.file, f.line, f.test_id, f.severity) for f in findings if f.severity != "LOW"}


def test_bandit_reports_high_and_medium_with_file_and_line(tmp_path):
    module = tmp_path / "pkg" / "api"
    module.mkdir(parents=True)
    (module / "runner.py").write_text(RISKY)
    (tmp_path / "pkg" / "__init__.py").write_text("")

    findings = run_bandit(tmp_path)

    assert _severe(findings) == {
        ("pkg/api/runner.py", 6, "B602", "HIGH"),  # subprocess with shell=True
        ("pkg/api/runner.py", 7, "B324", "HIGH"),  # md5 for security
        ("pkg/api/runner.py", 8, "B307", "MEDIUM"),  # eval, despite "# nosec"
        ("pkg/api/runner.py", 9, "B102", "MEDIUM"),  # exec
    }
    by_line = {f.line: f for f in findings}
    assert by_line[6].test_name == "subprocess_popen_with_shell_equals_true"
    assert by_line[6].confidence == "HIGH"
    assert "shell=True" in by_line[6].text
    assert (by_line[2].test_id, by_line[2].severity) == ("B404", "LOW")  # import subprocess


def test_bandit_finds_nothing_severe_in_the_sample_module(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "hello_fastvue")

    findings = run_bandit(tmp_path)

    assert [f for f in findings if f.severity == "HIGH"] == []
    assert len(list(tmp_path.rglob("*.py"))) >= 3
    assert findings == []


def test_bandit_never_executes_the_scanned_code(tmp_path):
    marker = tmp_path / "executed.txt"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(EXPLODES_IF_RUN.format(marker=str(marker)))
    (package / "__main__.py").write_text(EXPLODES_IF_RUN.format(marker=str(marker)))

    findings = run_bandit(package)

    assert not marker.exists()
    assert {(f.file, f.line) for f in findings if f.test_id == "B102"} == {
        ("__init__.py", 4),
        ("__main__.py", 4),
    }


def test_bandit_reports_files_it_could_not_scan(tmp_path):
    (tmp_path / "broken.py").write_text("def broken(:\n    eval(input())\n")
    (tmp_path / "fine.py").write_text("VALUE = 1\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.py"
    outside.write_text("import os\nos.system(input())\n")
    (tmp_path / "linked.py").symlink_to(outside)

    findings = run_bandit(tmp_path)

    assert {(f.file, f.test_id, f.severity) for f in findings} == {
        ("broken.py", SCAN_ERROR_ID, "HIGH"),
        ("linked.py", SCAN_ERROR_ID, "HIGH"),
    }


def test_audit_reports_a_known_vulnerability_at_the_lowest_admitted_version(fake):
    result = run_pip_audit(
        {VULNERABLE_PACKAGE: ">=1.2,<3", "Safe_Package": "~=1.4", "other": "==2.31.0"},
        osv_url=fake.url,
        timeout=60,
    )

    assert result.status == "vulnerable", result.detail
    assert not result.passed
    [vulnerability] = result.vulnerabilities
    assert vulnerability.package == VULNERABLE_PACKAGE
    assert vulnerability.version == "1.2"
    assert {vulnerability.id, *vulnerability.aliases} == {ADVISORY_ID, ADVISORY_ALIAS}
    assert vulnerability.fix_versions == [FIXED_VERSION]
    assert "Remote code execution" in vulnerability.description
    assert ADVISORY_ID in result.detail or ADVISORY_ALIAS in result.detail
    assert sorted(fake.requests, key=lambda r: r[1]["package"]["name"]) == [
        (
            "/v1/query",
            {"package": {"name": VULNERABLE_PACKAGE, "ecosystem": "PyPI"}, "version": "1.2"},
        ),
        ("/v1/query", {"package": {"name": "other", "ecosystem": "PyPI"}, "version": "2.31.0"}),
        ("/v1/query", {"package": {"name": "safe-package", "ecosystem": "PyPI"}, "version": "1.4"}),
    ]


def test_audit_is_clean_when_the_service_knows_nothing_against_the_pins(fake):
    result = run_pip_audit(
        {VULNERABLE_PACKAGE: f">={FIXED_VERSION}", "other": ">=0.27"}, osv_url=fake.url
    )

    assert result.status == "clean", result.detail
    assert result.passed
    assert result.vulnerabilities == []
    assert {body["package"]["name"]: body["version"] for _, body in fake.requests} == {
        VULNERABLE_PACKAGE: FIXED_VERSION,
        "other": "0.27",
    }


@pytest.mark.parametrize("mode", ["down", "garbage"])
def test_audit_is_unavailable_when_the_service_fails(fake, mode):
    fake.mode = mode

    result = run_pip_audit({VULNERABLE_PACKAGE: "==1.0"}, osv_url=fake.url)

    assert result.status == "unavailable"
    assert not result.passed
    assert result.vulnerabilities == []
    assert "pip-audit failed" in result.detail
    assert len(fake.requests) == 1


def test_audit_is_unavailable_when_the_service_hangs(fake):
    fake.mode = "hang"

    result = run_pip_audit({"other": "==1.0"}, osv_url=fake.url, timeout=2)

    assert result.status == "unavailable"
    assert result.detail


def test_audit_is_unavailable_when_nothing_listens(refused_url):
    result = run_pip_audit({VULNERABLE_PACKAGE: "==1.0"}, osv_url=refused_url)

    assert result.status == "unavailable"
    assert "Connection refused" in result.detail


def test_requirements_without_a_lower_bound_are_reported_not_audited(fake):
    result = run_pip_audit(
        {
            "capped": "<3",
            "anything": "",
            "exclusive": ">1.0",
            "excluded-bound": ">=1.0,!=1.0",
            "nonsense": "latest",
            "bad name\n--index-url http://evil": ">=1",
            "other": "==2.0",
        },
        osv_url=fake.url,
    )

    assert result.status == "clean", result.detail
    assert not result.passed
    assert sorted(result.unpinned) == sorted(
        [
            "capped",
            "anything",
            "exclusive",
            "excluded-bound",
            "nonsense",
            "bad name\n--index-url http://evil",
        ]
    )
    assert "capped: <3 has no usable lower bound" in result.detail
    assert [body["package"]["name"] for _, body in fake.requests] == ["other"]


def test_only_unpinned_requirements_run_nothing(refused_url, no_subprocess):
    result = run_pip_audit({"capped": "<3"}, osv_url=refused_url)

    assert (result.status, result.unpinned, result.passed) == ("clean", ["capped"], False)


def test_no_requirements_is_clean_without_running_anything(refused_url, no_subprocess):
    result = run_pip_audit({}, osv_url=refused_url)

    assert result.status == "clean"
    assert result.passed
    assert result.vulnerabilities == []


def test_a_name_with_a_trailing_newline_is_not_a_package_name(refused_url, no_subprocess):
    # "$" matches before a final newline; the name would split its requirements line.
    result = run_pip_audit({"requests\n": ">=2"}, osv_url=refused_url)

    assert (result.status, result.unpinned) == ("clean", ["requests\n"])
    assert "not a valid package name" in result.detail


def test_bandit_scans_python_files_whatever_the_case_of_their_suffix(tmp_path):
    """The archive check counts ``evil.PY`` as code and a case-insensitive file system
    imports it: a scan that skipped it would sign code nobody looked at."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "evil.PY").write_text(RISKY)
    (package / "tool.Pyw").write_text("exec(input())\n")

    findings = run_bandit(tmp_path)

    assert ("pkg/evil.PY", 6, "B602", "HIGH") in _severe(findings)
    assert ("pkg/tool.Pyw", 1, "B102", "MEDIUM") in _severe(findings)
