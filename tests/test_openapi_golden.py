"""The published API does not drift by accident: the document the app serves equals the
committed golden copy (``python -m tests.openapi_golden`` updates it on purpose)."""

import difflib
import json

from tests.openapi_golden import GOLDEN, current_document, render


def test_openapi_document_equals_the_golden_copy():
    expected = GOLDEN.read_text()
    actual = render(current_document())
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "golden/openapi.json",
                "create_app().openapi()",
                n=2,
            )
        )
        raise AssertionError(f"the OpenAPI document changed:\n{diff[:20000]}")
    assert json.loads(actual)["paths"]
