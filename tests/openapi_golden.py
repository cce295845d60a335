"""The API's OpenAPI document, as the app builds it and as it was last agreed.

``python -m tests.openapi_golden`` writes the current document over the golden copy; run it
only when an API change is intended, and commit the diff with the change that makes it."""

import json
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "openapi.json"


def current_document() -> dict:
    from api.app import create_app
    from integrations.temporal.front_door import TemporalConnector
    from models.db import make_engine
    from settings import Settings

    async def never_connected():
        raise RuntimeError("the OpenAPI document needs no Temporal")

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(
            Settings(data_dir=Path(data_dir)),
            make_engine("postgresql+psycopg://unused@localhost/unused"),
            TemporalConnector(never_connected),
        )
        return app.openapi()


def render(document: dict) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    GOLDEN.write_text(render(current_document()))
    sys.stdout.write(f"wrote {GOLDEN}\n")
