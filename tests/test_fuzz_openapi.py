"""Fuzzing over the whole OpenAPI document: every operation, asked as each role with
requests schemathesis makes from the document, must answer without a 5xx and as the
document says: a documented status code and content type, a body that matches the
documented schema, the documented headers; a request the document calls invalid is
refused with a 4xx, and an unsupported method with a 405 that names the allowed ones.

The app runs on the real services, on the world of the authorization matrix
(``tests.authorization_world``), as anonymous, a consumer, a publisher (the owner of the
world's modules, license, order, payout ...) and an admin. The requests of one operation
and role are:

- drawn by Hypothesis from the document (schemathesis's positive and negative modes), some
  of them with path parameters that name the world's real objects;
- a share of the cases of schemathesis's coverage phase (boundary values, missing and
  mistyped parameters, unexpected content types), dealt out over the four roles;
- the matrix's own valid request (``url_of``, ``body_of``), so that answers that take a
  real object and a valid body (a 2xx, mostly) are checked against the document too.

Each request runs in a savepoint of the world, rolled back after it, so it sees the world
as built whatever came before; the rate limiter is new for each operation and role. The
cases are drawn with a fixed seed (``derandomize``) before any is sent: a run asks exactly
the same requests every time, and a failure names the request, as a curl command.

The app is configured so that more of it answers: a small body limit (the 413 of any
operation), a short wait for workflows' answers (no worker runs), and both webhook
gateways on (Stripe's signature is checked locally, PayPal's
against the PayPal fake), so garbage deliveries go through their verification.
"""

import functools
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.coverage import GenerationSession
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from temporalio.client import WorkflowExecutionStatus

from api.app import create_app
from integrations.rate_limit import RateLimiter
from integrations.temporal.front_door import TemporalConnector
from settings import Settings
from tests.authorization_fixtures import *  # noqa: F403  (the world's fixtures)
from tests.authorization_world import World, body_of, sessions_on, url_of
from tests.conftest import JWT_SECRET, Api
from tests.openapi_golden import current_document
from tests.paypal_fake import PayPalServer

BASE_URL = "http://testserver"
ROLES = {"anonymous": None, "consumer": "consumer", "publisher": "owner", "admin": "admin"}
"""The roles, and the world's caller each one is."""

EXAMPLES = 8
"""Cases Hypothesis draws per operation and role. With the coverage phase's cases (about
4,700 over the API, each sent once) and the matrix's requests, a run sends about 9,000
requests: about a minute of each of two xdist workers."""

BODY_LIMIT = 8 * 1024
"""The fuzzed app's cap on a request body: the coverage phase's longest values exceed it."""

REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""What may refuse a request the document calls invalid: schemathesis's list (less 5xx,
which fails anyway), and 413 (a value longer than the document allows can make the body
longer than the app takes)."""

ANSWER_TIMEOUT = timedelta(seconds=2)
"""How long a request waits for a workflow's answer: no worker runs here, so a decision,
a confirmation or a cancel answers 503 after it."""

SCHEMA = schemathesis.openapi.from_dict(
    current_document(),
    config=SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    ),
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def not_a_server_error(ctx, response, case) -> bool | None:
    """schemathesis's check, less the one 5xx the app must answer here: no worker runs, so
    a request that waits for a workflow's answer (an admin's decision on a pending module,
    the progress of a review a decision started) ends in the documented 503
    ``workflow_not_answering`` after ``ANSWER_TIMEOUT``."""
    if response.status_code == 503 and b'"error":"workflow_not_answering"' in response.content:
        return None
    return schemathesis.checks.not_a_server_error(ctx, response, case)


def unsupported_method(ctx, response, case) -> bool | None:
    """schemathesis's check (an undeclared method is answered 405, with ``Allow``), less
    one case of path overlap: ``DELETE /cart/add`` and ``GET .../payouts/runs`` are routed
    to ``DELETE /cart/{item_id}`` and ``GET .../payouts/{payout_id}`` (the router matches a
    path parameter on any segment) and refused there with that operation's documented 422
    on the path parameter. schemathesis expects the routing of the OpenAPI document, where
    a segment that does not fit the parameter's schema is no match."""
    if response.status_code == 422 and b'"loc":["path",' in response.content:
        return None
    return schemathesis.checks.unsupported_method(ctx, response, case)


CHECKS = [
    not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.missing_required_header,
    unsupported_method,
]

PAYPAL = {
    "client_id": "fuzz-client-" + uuid.uuid4().hex,
    "client_secret": "fuzz-secret-" + uuid.uuid4().hex,
    "webhook_id": "WH-" + uuid.uuid4().hex[:17].upper(),
}


@pytest.fixture(scope="module")
def paypal_server():
    with PayPalServer(**PAYPAL) as fake:
        yield fake


@pytest.fixture(scope="module")
async def shared_app(engine, temporal_dev, tmp_path_factory, paypal_server):
    """The module's app (the world's fixtures use it): see the module's docstring."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        jwt_secret=JWT_SECRET,
        temporal_task_queue=f"fuzz-{uuid.uuid4().hex}",
        max_request_body_bytes=BODY_LIMIT,
        workflow_answer_timeout=ANSWER_TIMEOUT,
        stripe_secret_key=SecretStr("sk_test_fuzz"),
        stripe_webhook_secret=SecretStr("whsec_fuzz"),
        stripe_api_base="http://127.0.0.1:9",  # nothing listens: no call leaves the machine
        paypal_client_id=PAYPAL["client_id"],
        paypal_client_secret=SecretStr(PAYPAL["client_secret"]),
        paypal_webhook_id=PAYPAL["webhook_id"],
        paypal_api_base=paypal_server.url,
        paypal_sandbox=True,
    )
    app = create_app(settings, engine, TemporalConnector.of(temporal_dev.client))
    yield app
    await end_workflows_of(app, temporal_dev.client)


async def end_workflows_of(app, client) -> None:
    """Requests start workflows (checkouts, refunds, payouts ...) that no worker runs:
    end those of the module's task queue."""
    queue = app.state.settings.temporal_task_queue
    async for execution in client.list_workflows(f'TaskQueue="{queue}"'):
        if execution.status == WorkflowExecutionStatus.RUNNING:
            await client.get_workflow_handle(execution.id).terminate("fuzzing over")


def real_path_values(world: World) -> dict[str, list[Any]]:
    """For each path parameter of the API, the world's objects it can name."""
    modules = [
        world.draft,
        world.pending,
        world.released,
        world.private,
        world.listed,
        world.carted,
        world.subscribed,
        world.trial_offer,
    ]
    return {
        "module_id": [m.id for m in modules],
        "slug": [m.slug for m in modules] + [world.owner_publisher.slug],
        "version": ["0.9.0", "1.0.0", "1.1.0", "1.2.0"],
        "version_id": [world.held.id, *(v.id for v in world.versions.values())],
        "category_id": [world.category.id],
        "token_id": [world.token_id],
        "item_id": [world.cart_item.id],
        "order_id": [world.order.id, world.sale.id],
        "coupon_id": [world.coupon.id],
        "review_id": [world.review.id, world.hidden_review.id, world.answered.id],
        "report_id": [world.report.id],
        "publisher_id": [world.owner_publisher.id, world.other_publisher.id, world.banned.id],
        "payout_id": [world.payout.id],
        "key": [world.license_key, world.sub_key],
        "user_id": [u.id for u in world.callers.values() if u is not None],
        "revision_id": [world.revision.id],
    }


def drawn_cases(operation, world: World) -> list:
    """``EXAMPLES`` cases, drawn with a fixed seed: made up (valid or not), or valid with
    a path that names real objects."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [parameter.name for parameter in operation.path_parameters]
    if names:
        values = real_path_values(world)
        unknown = set(names) - values.keys()
        assert not unknown, f"real_path_values has no objects for {sorted(unknown)}"
        real = st.fixed_dictionaries({name: st.sampled_from(values[name]) for name in names})
        strategies.append(real.flatmap(lambda given: operation.as_strategy(path_parameters=given)))
    cases: list = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(st.one_of(strategies))
    def collect(case) -> None:
        cases.append(case)

    collect()
    return cases


@functools.cache
def coverage_cases(label: str) -> list:
    """The operation's cases of schemathesis's coverage phase: a fixed list (made once per
    process, each role taking its own share)."""
    operation = next(operation for operation in OPERATIONS if operation.label == label)
    return list(
        CoverageGenerator(
            operation=operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=SCHEMA.config.generation_for(operation=operation, phase="coverage"),
            auth_storage=None,
            override=Override(),
            feedback=FeedbackSources(),
            # its own session: a shared one (the default) probes a path's undeclared methods
            # only for the first of its operations this process happens to generate
            session=GenerationSession(),
        )
    )


def cases_for(operation, role: str, world: World) -> list:
    share = list(ROLES).index(role)
    return drawn_cases(operation, world) + coverage_cases(operation.label)[share :: len(ROLES)]


def wire_request(case, headers: dict[str, str]) -> dict[str, Any]:
    """The request schemathesis would send for ``case``, as httpx sends it: the bytes
    (JSON, form, multipart or raw) and headers of the prepared request."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    fields = ("method", "url", "headers", "params", "json", "data", "files", "cookies")
    prepared = requests.Request(**{k: kwargs[k] for k in fields if k in kwargs}).prepare()
    return {
        "method": prepared.method,
        "url": prepared.url,
        "headers": dict(prepared.headers),
        "content": prepared.body,
    }


def matrix_request(operation, world: World, auth: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """The authorization matrix's valid request for the operation, and its case."""
    method = operation.method.upper()
    url = url_of(operation.path, world, method=method)
    names = re.findall(r"{(\w+)}", operation.path)
    pattern = re.sub(r"{\w+}", "([^/]+)", operation.path)
    found = re.fullmatch(pattern, urlsplit(url).path)
    assert found is not None, (operation.path, url)
    case = operation.Case(path_parameters=dict(zip(names, found.groups(), strict=True)))
    request = {"method": method, "url": url, **body_of(method, operation.path, world)}
    request["headers"] = request.get("headers", {}) | auth
    return case, request


def shortened(failure: FailureGroup, width: int = 400) -> str:
    """The failure's report, with its long lines (a maximal body, say) cut short."""
    return "\n".join(
        line if len(line) <= width else f"{line[:width]}... ({len(line)} characters)"
        for line in str(failure).splitlines()
    )


@pytest.mark.parametrize(
    ("operation", "role"),
    [
        pytest.param(operation, role, id=f"{operation.label} | {role}")
        for operation in OPERATIONS
        for role in ROLES
    ],
)
async def test_answers_as_documented(operation, role, shared_app, world, world_connection):
    shared_app.state.rate_limiter = RateLimiter()
    shared_app.state.sessions = sessions_on(world_connection)
    caller = world.callers[ROLES[role]] if ROLES[role] else None
    transport = httpx.ASGITransport(app=shared_app, raise_app_exceptions=False)
    failures = []
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        api = Api(http, shared_app.state.settings)
        auth = api.token_for(caller) if caller is not None else {}

        async def send(**request) -> httpx.Response:
            built = http.build_request(**request)
            built.read()  # a multipart body streams: the checks read what was sent
            savepoint = await world_connection.begin_nested()
            try:
                return await http.send(built)
            finally:
                if savepoint.is_active:
                    await savepoint.rollback()

        requests_ = [(case, wire_request(case, auth)) for case in cases_for(operation, role, world)]
        requests_.append(matrix_request(operation, world, auth))
        for case, request in requests_:
            response = await send(**request)
            try:
                case.validate_response(response, checks=CHECKS, headers=request["headers"])
            except FailureGroup as group:
                failures.append(f"{request['method']} {request['url']}\n{shortened(group)}")
    assert not failures, f"{len(failures)} of {len(requests_)} answers:\n" + "\n".join(failures)
