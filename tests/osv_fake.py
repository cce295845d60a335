"""A small OSV-compatible service for tests: ``POST /v1/query`` (the only endpoint pip-audit's
OSV service calls, once per pinned package) and ``POST /v1/querybatch``.

It knows one advisory: ``insecure-package`` below 2.0 (``GHSA-test-0001``, fixed in 2.0).
``mode`` switches behaviour while it runs: "ok", "down" (503 to everything), "hang" (holds
each request until the server stops or ``mode`` changes), "garbage" (200 with a non-JSON
body). Every request body is recorded in ``requests``.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tests.helpers import BackgroundHttpServer

VULNERABLE_PACKAGE = "insecure-package"
ADVISORY_ID = "GHSA-test-0001"
ADVISORY_ALIAS = "CVE-2099-0001"
FIXED_VERSION = "2.0"

Mode = Literal["ok", "down", "hang", "garbage"]


@dataclass
class Advisory:
    id: str
    package: str
    introduced: str
    fixed: str
    aliases: list[str] = field(default_factory=list)
    summary: str = ""

    def affects(self, package: str, version: str) -> bool:
        if canonicalize_name(package) != canonicalize_name(self.package):
            return False
        try:
            parsed = Version(version)
        except InvalidVersion:
            return False
        return Version(self.introduced) <= parsed < Version(self.fixed)

    def to_osv(self) -> dict[str, Any]:
        return {
            "schema_version": "1.6.0",
            "id": self.id,
            "aliases": self.aliases,
            "summary": self.summary,
            "details": self.summary + "\n\nTest advisory served by tests/osv_fake.py.",
            "modified": "2024-01-02T00:00:00Z",
            "published": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"name": self.package, "ecosystem": "PyPI"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": self.introduced}, {"fixed": self.fixed}],
                        }
                    ],
                }
            ],
        }


DEFAULT_ADVISORIES = [
    Advisory(
        id=ADVISORY_ID,
        package=VULNERABLE_PACKAGE,
        introduced="0",
        fixed=FIXED_VERSION,
        aliases=[ADVISORY_ALIAS],
        summary="Remote code execution in insecure-package",
    )
]


class FakeOsv:
    def __init__(self, advisories: list[Advisory]) -> None:
        self.advisories = advisories
        self.requests: list[tuple[str, dict[str, Any] | None]] = []
        self._mode: Mode = "ok"
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._http = BackgroundHttpServer(self._handler_class())

    @property
    def base_url(self) -> str:
        return self._http.url

    @property
    def url(self) -> str:
        """What pip-audit's ``--osv-url`` takes: the full query endpoint."""
        return self.base_url + "/v1/query"

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        self._mode = value
        if value == "hang":
            self._release.clear()
        else:
            self._release.set()

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        package = body.get("package") or {}
        if package.get("ecosystem", "PyPI") != "PyPI":
            return {}
        vulns = [
            a.to_osv()
            for a in self.advisories
            if a.affects(str(package.get("name", "")), str(body.get("version", "")))
        ]
        return {"vulns": vulns} if vulns else {}

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._release.set()
        self._http.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._reply(404, {"code": 5, "message": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with fake._lock:
                    fake.requests.append((self.path, body))
                mode = fake.mode
                if mode == "hang":
                    fake._release.wait(timeout=60)
                    self.close_connection = True
                    return
                if mode == "down":
                    self._reply(503, {"code": 14, "message": "Service Unavailable"})
                elif mode == "garbage":
                    self._send(200, b"<html>maintenance</html>", "text/html")
                elif not isinstance(body, dict):
                    self._reply(400, {"code": 3, "message": "Invalid JSON"})
                elif self.path == "/v1/query":
                    self._reply(200, fake.query(body))
                elif self.path == "/v1/querybatch":
                    queries = body.get("queries") or []
                    results = [
                        {"vulns": [{"id": v["id"], "modified": v["modified"]} for v in r["vulns"]]}
                        if (r := fake.query(q))
                        else {}
                        for q in queries
                    ]
                    self._reply(200, {"results": results})
                else:
                    self._reply(404, {"code": 5, "message": "Not Found"})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@contextmanager
def osv_fake(advisories: list[Advisory] | None = None) -> Iterator[FakeOsv]:
    fake = FakeOsv(DEFAULT_ADVISORIES if advisories is None else advisories)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
