"""One error shape for every failure: ``{"error": CODE, "detail": text}``."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.checkout import CheckoutPending
from domain.errors import DomainError, ErrorKind

log = logging.getLogger("marketplace.api")

STATUS_OF_KIND = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.RATE_LIMITED: 429,
}

CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


class UnusableValue(Exception):
    """A well-formed request value that names nothing usable (an unknown category, ...):
    a 422 whose ``error`` is ``code``, with the problem listed as every 422 lists them."""

    def __init__(self, code: str, loc: tuple[str, ...], msg: str) -> None:
        super().__init__(msg)
        self.code, self.loc, self.msg = code, loc, msg


class ErrorBody(BaseModel):
    error: str
    detail: str | list[Any] | dict[str, Any]


class Problem(BaseModel):
    """One reason a request is refused with 422."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then names")
    msg: str = Field(description="For people")
    type: str = Field(description="Machine-readable, e.g. string_too_short, unknown_category")


class ValidationErrorBody(BaseModel):
    """A 422: ``error`` is ``validation_error`` (malformed) or a specific code, such as
    ``unknown_category``, when a well-formed value names nothing usable."""

    error: str
    detail: list[Problem]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409)},
    413: {
        "model": ErrorBody,
        "description": "The request body is larger than the API takes (`max_request_body_bytes`"
        ", for an upload `max_upload_bytes`): `error` is `payload_too_large` or "
        "`upload_too_large`",
    },
    422: {"model": ValidationErrorBody},
    503: {"model": ErrorBody},
}
"""What any operation may answer besides its own success: the app's ``responses=``. The body
limit answers 413 before any route runs, so every operation may."""

RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "Too many calls: `error` is `rate_limited`",
        "headers": {
            "Retry-After": {
                "description": "Whole seconds until a call is admitted again",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}
"""The answer of a route behind the rate limiter, for its ``responses=``."""


def error_response(
    status: int, code: str, detail: object, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        status = STATUS_OF_KIND[error.kind]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        retry_after = getattr(error, "retry_after", None)
        if status == 429 and retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        if isinstance(error, CheckoutPending):
            headers = {"Location": f"/api/v1/marketplace/orders/{error.order_id}"}
        return error_response(status, error.code, error.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        return error_response(422, "validation_error", problems)

    @app.exception_handler(UnusableValue)
    async def unusable_value(_: Request, error: UnusableValue) -> JSONResponse:
        problem = {"loc": list(error.loc), "msg": error.msg, "type": error.code}
        return error_response(422, error.code, [problem])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = CODE_OF_STATUS.get(error.status_code, HTTPStatus(error.status_code).phrase)
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        return error_response(error.status_code, code, detail, getattr(error, "headers", None))

    @app.exception_handler(DataError)
    async def data_error(_: Request, error: DataError) -> JSONResponse:
        log.info("database refused a value: %s", error.orig)
        return error_response(400, "invalid_value", "a value cannot be stored as given")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return error_response(500, "internal_error", "an unexpected error occurred")
