"""Request rate limits for endpoints anyone may call (license checks).

Counters live in this process (moving windows from the ``limits`` package); with several
API processes each enforces its own share.
"""

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from domain.errors import DomainError, ErrorKind


class RateLimited(DomainError):
    kind = ErrorKind.RATE_LIMITED


class RateLimiter:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, rule: str, scope: str, key: str) -> None:
        """Count one hit of ``key`` in ``scope``; RateLimited when over ``rule``."""
        if not self._limiter.hit(parse(rule), scope, key):
            raise RateLimited("rate_limited", f"too many requests ({rule}); slow down")
