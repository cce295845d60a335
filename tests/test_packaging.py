"""Packaging hygiene: every package the code imports is declared in pyproject.toml (the
runtime dependencies, or the test extra for tests/ and bench/), and both lock files pin
every declared package."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_CODE = [
    "api", "services", "workflows", "activities", "models", "domain", "integrations", "cli",
    "migrations", "worker.py", "settings.py",
]  # fmt: skip
TEST_CODE = ["tests", "bench"]
OURS = {Path(p).stem for p in RUNTIME_CODE + TEST_CODE} | {"fastvue_license"}
"""The license client is ours too: a package of its own in clients/, installed beside the
project (Makefile, Dockerfile); test_license_client.py holds it to its own dependencies."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared(requirements: list[str]) -> set[str]:
    return {_normal(Requirement(line).name) for line in requirements}


def _imports(roots: list[str]) -> dict[str, str]:
    """Top-level module imported → a file that imports it (outside the standard library
    and our own packages)."""
    found: dict[str, str] = {}
    for root in roots:
        path = ROOT / root
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OURS:
                        found.setdefault(top, str(file.relative_to(ROOT)))
    return found


def _undeclared(imported: dict[str, str], declared: set[str]) -> list[str]:
    distributions = packages_distributions()
    missing = []
    for module, where in sorted(imported.items()):
        names = {_normal(d) for d in distributions.get(module, [])}
        if not names & declared:
            missing.append(f"{module} (imported by {where}; provided by {sorted(names)})")
    return missing


def test_runtime_code_imports_only_declared_dependencies():
    declared = _declared(_pyproject()["project"]["dependencies"])
    assert _undeclared(_imports(RUNTIME_CODE), declared) == []


def test_tests_and_benchmarks_import_only_declared_dependencies():
    project = _pyproject()["project"]
    declared = _declared(project["dependencies"] + project["optional-dependencies"]["test"])
    assert _undeclared(_imports(TEST_CODE), declared) == []


def _pinned(lock: str) -> set[str]:
    text = (ROOT / lock).read_text()
    return {_normal(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, re.M)}


def test_the_locks_pin_every_declared_dependency_with_hashes():
    project = _pyproject()["project"]
    runtime = _declared(project["dependencies"])
    test = _declared(project["optional-dependencies"]["test"])
    assert runtime - _pinned("requirements.lock") == set()
    assert (runtime | test) - _pinned("requirements-test.lock") == set()
    for lock in ("requirements.lock", "requirements-test.lock"):
        text = (ROOT / lock).read_text()
        entries = re.findall(r"^[A-Za-z0-9][^\n]*==[^\n]*$", text, re.M)
        assert entries and all(line.endswith("\\") for line in entries), f"{lock}: hashes"


def test_the_locks_agree_on_shared_versions():
    def versions(lock: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        text = (ROOT / lock).read_text()
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.M):
            found.setdefault(_normal(name), set()).add(version)
        return found

    runtime, test = versions("requirements.lock"), versions("requirements-test.lock")
    assert {name: test.get(name) for name in runtime} == runtime
