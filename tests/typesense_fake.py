"""A small stand-in for a Typesense server, so the real ``typesense`` client can be tested.

It speaks Typesense's HTTP API for what our backend uses (collections create/retrieve,
documents upsert/delete, search with query_by/weights/prefix/filter_by/facet_by and
limit/offset), checks the API key header, records every request, and can be told to
answer with an error. Matching is deliberately simple (whole words or word prefixes); it
is the requests and the response format that the tests are about.
"""

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.helpers import BackgroundHttpServer

API_KEY_HEADER = "X-TYPESENSE-API-KEY"
_FILTER = re.compile(r"^(\w+):=(\[(?:`[^`]*`,?)*\]|`[^`]*`)$")


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class TypesenseFake:
    api_key: str
    collections: dict[str, dict] = field(default_factory=dict)
    documents: dict[str, dict[str, dict]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status
    garbled: bytes | None = None  # answer every request 200 with these bytes
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def reset(self) -> None:
        with self.lock:
            self.collections.clear()
            self.documents.clear()
            self.requests.clear()
            self.fail_with = None
            self.garbled = None

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- the API ------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any]:
        if self.fail_with is not None:
            return self.fail_with, {"message": "injected failure"}
        parts = [unquote(p) for p in path.strip("/").split("/")]
        match parts:
            case ["collections"] if method == "POST":
                return self._create_collection(body)
            case ["collections", name] if method == "GET":
                if name not in self.collections:
                    return 404, {"message": f"No collection with name `{name}` found."}
                return 200, self.collections[name] | {"num_documents": len(self.documents[name])}
            case ["collections", name, "documents"] if method == "POST":
                if params.get("action") != "upsert":
                    return 400, {"message": "this fake only upserts"}
                return self._upsert(name, body)
            case ["collections", name, "documents", "search"] if method == "GET":
                if name not in self.collections:
                    return 404, {"message": "Not found."}
                return self._search(name, params)
            case ["collections", name, "documents", doc_id] if method == "DELETE":
                docs = self.documents.get(name)
                if docs is None or doc_id not in docs:
                    return 404, {"message": "Could not find a document with id: " + doc_id}
                return 200, docs.pop(doc_id)
        return 404, {"message": "Not Found"}

    def _create_collection(self, schema: dict) -> tuple[int, Any]:
        name = schema["name"]
        if name in self.collections:
            return 409, {"message": f"A collection with name `{name}` already exists."}
        self.collections[name] = schema | {"created_at": 1, "num_documents": 0}
        self.documents[name] = {}
        return 201, self.collections[name]

    def _upsert(self, name: str, document: dict) -> tuple[int, Any]:
        if name not in self.collections:
            return 404, {"message": "Not found."}
        declared = {f["name"]: f for f in self.collections[name]["fields"]}
        for field_name, spec in declared.items():
            if field_name not in document and not spec.get("optional"):
                return 400, {"message": f"Field `{field_name}` has been declared in the schema"}
        if not isinstance(document.get("id"), str):
            return 400, {"message": "Document's `id` field should be a string."}
        self.documents[name][document["id"]] = document
        return 200, document

    def _search(self, name: str, params: dict) -> tuple[int, Any]:
        for required in ("q", "query_by"):
            if required not in params:
                return 400, {"message": f"Parameter `{required}` is required."}
        fields = params["query_by"].split(",")
        weights = [int(w) for w in params.get("query_by_weights", "").split(",") if w] or [1] * len(
            fields
        )
        if len(weights) != len(fields):
            return 400, {"message": "Number of weights in `query_by_weights` does not match"}
        prefix = params.get("prefix", "true") == "true"
        try:
            conditions = self._filters(params.get("filter_by", ""))
        except ValueError as error:
            return 400, {"message": str(error)}
        tokens = [t for t in re.split(r"\W+", params["q"].lower()) if t]
        scored = []
        for doc in self.documents[name].values():
            if not all(_value_in(doc.get(f), allowed) for f, allowed in conditions):
                continue
            score = 0
            for token in tokens:
                best = 0
                for field_name, weight in zip(fields, weights, strict=True):
                    words = re.split(r"\W+", _text(doc.get(field_name)).lower())
                    if any(w == token or (prefix and w.startswith(token)) for w in words):
                        best = max(best, weight)
                if best == 0:
                    break
                score += best
            else:
                if tokens or params["q"] == "*":
                    scored.append((score, doc))
        scored.sort(key=lambda pair: (-pair[0], -pair[1].get("downloads", 0)))
        facet_counts = []
        for facet in filter(None, params.get("facet_by", "").split(",")):
            counts: dict[str, int] = {}
            for _, doc in scored:
                values = doc.get(facet)
                for value in values if isinstance(values, list) else [values]:
                    if value is not None:
                        counts[value] = counts.get(value, 0) + 1
            facet_counts.append(
                {
                    "field_name": facet,
                    "sampled": False,
                    "stats": {"total_values": len(counts)},
                    "counts": [
                        {"count": c, "highlighted": v, "value": v}
                        for v, c in sorted(counts.items(), key=lambda kv: -kv[1])
                    ],
                }
            )
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 10))
        include = params.get("include_fields")
        hits = [
            {
                "document": {k: v for k, v in doc.items() if not include or k in include},
                "highlights": [],
                "text_match": score,
            }
            for score, doc in scored[offset : offset + limit]
        ]
        return 200, {
            "facet_counts": facet_counts,
            "found": len(scored),
            "hits": hits,
            "out_of": len(self.documents[name]),
            "page": 1,
            "request_params": {"collection_name": name, "q": params["q"], "per_page": limit},
            "search_cutoff": False,
            "search_time_ms": 0,
        }

    @staticmethod
    def _filters(expression: str) -> list[tuple[str, set[str]]]:
        conditions = []
        for clause in filter(None, (c.strip() for c in expression.split("&&"))):
            found = _FILTER.fullmatch(clause)
            if found is None:
                raise ValueError(f"Could not parse the filter query: `{clause}`")
            conditions.append((found.group(1), set(re.findall(r"`([^`]*)`", found.group(2)))))
        return conditions


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def _value_in(value: Any, allowed: set[str]) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v in allowed for v in values if v is not None)


# --- the HTTP server --------------------------------------------------------------------


def _handler_for(fake: TypesenseFake):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            with fake.lock:
                path = url.path.rstrip("/") or "/"  # the client writes ".../documents/"
                fake.requests.append(
                    Recorded(self.command, path, params, body, dict(self.headers.items()))
                )
                if self.headers.get(API_KEY_HEADER) != fake.api_key:
                    status, answer = (
                        401,
                        {
                            "message": "Forbidden - a valid `x-typesense-api-key` header must "
                            "be sent."
                        },
                    )
                else:
                    status, answer = fake.handle(self.command, url.path, params, body)
            payload = json.dumps(answer).encode() if fake.garbled is None else fake.garbled
            status = status if fake.garbled is None else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    return Handler


class TypesenseServer:
    """The fake on a real socket (127.0.0.1, a free port), served from a thread."""

    def __init__(self, api_key: str) -> None:
        self.fake = TypesenseFake(api_key=api_key)
        self.http = BackgroundHttpServer(_handler_for(self.fake))
        self.fake.url = self.http.url

    def __enter__(self) -> TypesenseFake:
        self.http.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.http.stop()
