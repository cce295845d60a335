"""The dependency direction of DESIGN.md, held by a test.

The packages' contracts are import-linter's (``[tool.importlinter]`` in pyproject.toml),
checked here by running it; the two top-level modules it cannot take as roots (settings.py
and worker.py) and the rule that workflow modules hold workflow code only are checked by
reading the imports of the source."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "domain", "models", "integrations", "activities", "workflows", "services", "api", "cli",
    "settings", "worker",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in OURS}


def package_files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def test_the_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_settings_import_nothing_of_ours():
    assert ours(imported_modules(ROOT / "settings.py")) == set()


@pytest.mark.parametrize("path", package_files("domain"), ids=str)
def test_domain_does_not_read_settings(path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "settings"}


@pytest.mark.parametrize(
    "path",
    package_files("domain", "models", "integrations", "activities", "workflows", "services", "api"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_cli_starts_a_worker(path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "worker"}


@pytest.mark.parametrize("path", package_files("workflows"), ids=lambda p: p.name)
def test_workflow_modules_hold_workflow_code_only(path):
    """No client code (starting workflows, schedules), no settings: a workflow gets what
    it needs in its input, and the client side lives in integrations.temporal."""
    imported = imported_modules(path)
    client_side = {
        m for m in imported if m.startswith("temporalio.client") or m.split(".")[0] == "settings"
    }
    assert client_side == set()
