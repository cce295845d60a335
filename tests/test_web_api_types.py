"""The storefront's API types (web/src/api/schema.d.ts) are generated from the API's own
OpenAPI document: the golden copy, which tests/test_openapi_golden.py keeps equal to
``create_app().openapi()``. An API change that is not carried into the types fails here,
so a page cannot call an endpoint, parameter or field the API no longer has."""

import hashlib
import re
import shutil
import subprocess  # nosec B404  # runs the project's own generator with node
from pathlib import Path

import pytest

from tests.openapi_golden import GOLDEN, current_document, render

WEB = Path(__file__).resolve().parents[1] / "web"
TYPES = WEB / "src" / "api" / "schema.d.ts"
REGENERATE = "run `python -m tests.openapi_golden`, then `npm run gen:api` in web/"


def test_the_types_were_generated_from_the_current_api_document():
    assert GOLDEN.read_text() == render(current_document()), (
        f"the API changed since its OpenAPI document was recorded: {REGENERATE}"
    )
    stamp = re.search(r"^// openapi-sha256: ([0-9a-f]{64})$", TYPES.read_text(), re.MULTILINE)
    assert stamp, f"{TYPES} has no openapi-sha256 line: {REGENERATE}"
    assert stamp.group(1) == hashlib.sha256(GOLDEN.read_bytes()).hexdigest(), (
        f"{TYPES} was generated from another OpenAPI document: {REGENERATE}"
    )


@pytest.mark.skipif(
    not (WEB / "node_modules" / "openapi-typescript").is_dir() or not shutil.which("node"),
    reason="web/node_modules is not installed (npm ci in web/)",
)
def test_the_committed_types_are_what_the_generator_writes():
    generated = subprocess.run(  # nosec B603 B607  # node from PATH, fixed arguments
        ["node", "scripts/gen-api.mjs", "--stdout"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert generated == TYPES.read_text(), f"{TYPES} was edited by hand: {REGENERATE}"
