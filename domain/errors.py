"""Business rule failures, independent of HTTP. The API maps each kind to a status code."""

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAUTHENTICATED = "unauthenticated"
    UNAVAILABLE = "unavailable"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"


class DomainError(Exception):
    """An expected failure with a stable machine-readable code."""

    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, code: str, detail: str, kind: ErrorKind | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if kind is not None:
            self.kind = kind


class NotFound(DomainError):
    kind = ErrorKind.NOT_FOUND


class Conflict(DomainError):
    kind = ErrorKind.CONFLICT


class Forbidden(DomainError):
    kind = ErrorKind.FORBIDDEN


class Unauthenticated(DomainError):
    kind = ErrorKind.UNAUTHENTICATED
