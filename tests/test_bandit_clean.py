"""bandit finds no medium or high issue in the shipped code (security audit), as `make lint`
checks too; a false positive is marked inline (``# nosec BXXX  # why``), and the one rule
skipped as a whole is justified in ``[tool.bandit]`` in pyproject.toml."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bandit_paths() -> list[str]:
    """The Makefile's BANDIT_PATHS, so this test and `make lint` scan the same code."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    found = re.search(r"^BANDIT_PATHS :=(.*)$", makefile, re.MULTILINE)
    assert found, "the Makefile defines BANDIT_PATHS"
    return found.group(1).split()


def test_everything_shipped_is_scanned() -> None:
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    shipped = set(wheel["targets"]["wheel"]["only-include"]) - {"alembic.ini"}
    client = ROOT / "clients" / "fastvue_license"
    client_wheel = tomllib.loads((client / "pyproject.toml").read_text())["tool"]["hatch"]
    shipped |= {
        f"clients/fastvue_license/{package}"
        for package in client_wheel["build"]["targets"]["wheel"]["packages"]
    }
    assert set(bandit_paths()) == shipped


def test_no_medium_or_high_finding() -> None:
    command = [sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-q", "-f", "json"]
    completed = subprocess.run(
        [*command, "-r", *bandit_paths()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(completed.stdout)
    assert report["errors"] == []
    serious = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_severity']}: "
        f"{r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH")
    ]
    assert serious == []
