"""Request rate limits for endpoints anyone may call (license checks, sign-in).

Counters live in this process, so with several API processes each enforces its own share.
The window slides: a hit counts the current fixed window in full and the previous one in
proportion to how much of it still overlaps the last ``period`` seconds (the approximation
Cloudflare and nginx use). It needs no timer thread, two integers per key, and no lock:
everything runs on the event loop.
"""

import math
import time
from collections.abc import Callable
from functools import lru_cache

from limits import RateLimitItem, parse

from domain.errors import DomainError, ErrorKind

PRUNE_EVERY = 10_000
"""Hits between sweeps of keys whose windows have both ended."""


class RateLimited(DomainError):
    """Over a limit; ``retry_after``: whole seconds until the limiter admits the key again
    (sent as ``Retry-After``)."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(self, code: str, detail: str, retry_after: int = 1) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


def seconds_until_admitted(
    amount: int, period: float, elapsed: float, current: int, previous: int
) -> int:
    """Whole seconds, at least 1, until ``current + previous * overlap`` drops below
    ``amount``: within this window as the previous one slides out, else in the next one
    as this one does (``elapsed``: seconds into the current window)."""
    if current < amount:
        # the previous window's share must fall under what this one leaves free
        wait = period * (1 - (amount - current) / previous) - elapsed
    else:
        wait = (period - elapsed) + period * (1 - amount / current)
    return math.floor(max(wait, 0.0)) + 1


@lru_cache(maxsize=64)
def _rule(text: str) -> RateLimitItem:
    return parse(text)


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str, str], tuple[int, int, int]] = {}
        self._hits = 0

    def check(self, rule: str, scope: str, key: str) -> None:
        """Count one hit of ``key`` in ``scope``; RateLimited when over ``rule``."""
        limit = _rule(rule)
        period = limit.get_expiry()
        now = self._clock()
        window = int(now // period)
        slot = (rule, scope, key)
        start, current, previous = self._windows.get(slot, (window, 0, 0))
        if window != start:
            previous = current if window == start + 1 else 0
            current, start = 0, window
        overlap = 1 - (now - window * period) / period
        if current + previous * overlap >= limit.amount:
            self._windows[slot] = (start, current, previous)
            retry_after = seconds_until_admitted(
                limit.amount, period, now - window * period, current, previous
            )
            raise RateLimited(
                "rate_limited",
                f"too many requests ({rule}); retry in {retry_after} s",
                retry_after=retry_after,
            )
        self._windows[slot] = (start, current + 1, previous)
        self._hits += 1
        if self._hits % PRUNE_EVERY == 0:
            self._prune(now)

    def refund(self, rule: str, scope: str, key: str) -> None:
        """Take back one hit ``check`` counted for ``key`` (say, a sign-in that turned out
        right): from the current window, else from the previous one."""
        limit = _rule(rule)
        slot = (rule, scope, key)
        if slot not in self._windows:
            return
        window = int(self._clock() // limit.get_expiry())
        start, current, previous = self._windows[slot]
        if window != start:
            previous = current if window == start + 1 else 0
            current, start = 0, window
        if current > 0:
            current -= 1
        elif previous > 0:
            previous -= 1
        self._windows[slot] = (start, current, previous)

    def clear(self, rule: str, scope: str, key: str) -> None:
        """Forget every hit of ``key`` in ``scope``."""
        self._windows.pop((rule, scope, key), None)

    def _prune(self, now: float) -> None:
        stale = [
            slot
            for slot, (start, _, _) in self._windows.items()
            if int(now // _rule(slot[0]).get_expiry()) > start + 1
        ]
        for slot in stale:
            del self._windows[slot]
