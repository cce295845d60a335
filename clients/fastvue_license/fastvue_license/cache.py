"""The last good answer, kept so an instance runs on through a marketplace outage.

The cache holds the signed envelope exactly as it arrived, never a conclusion drawn from
it: each read checks the signature, the binding to this instance and ``valid_until`` again,
so editing the file (or copying another instance's) gains nothing. It is written
atomically, mode 0600, and removed when the marketplace answers with anything but a grant.
"""

import json
from collections.abc import Mapping
from pathlib import Path

from fastvue_license.documents import envelope_parts
from fastvue_license.errors import LicenseError
from fastvue_license.files import read_json, write_private


class AnswerCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, envelope: Mapping[str, object]) -> None:
        payload, signature, kid = envelope_parts(envelope)
        write_private(
            self.path,
            json.dumps({"payload": payload, "signature": signature, "key_id": kid}) + "\n",
        )

    def load(self) -> dict[str, object] | None:
        """The cached envelope, or None when there is none (or it is not even JSON: a
        damaged file is as good as none; what is JSON is for the checks to judge)."""
        document = read_json(self.path)
        if not isinstance(document, dict):
            return None
        try:
            envelope_parts(document)
        except LicenseError:
            return None
        return document

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
