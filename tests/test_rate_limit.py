"""The in-process sliding-window limiter behind license checks and sign-in."""

import pytest

from integrations.rate_limit import RateLimited, RateLimiter
from tests.openapi_golden import current_document


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def hits_allowed(limiter: RateLimiter, rule: str, key: str, tries: int) -> int:
    allowed = 0
    for _ in range(tries):
        try:
            limiter.check(rule, "scope", key)
            allowed += 1
        except RateLimited:
            pass
    return allowed


def test_a_burst_gets_exactly_the_limit_and_other_keys_their_own():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert hits_allowed(limiter, "10/minute", "a", 25) == 10
    assert hits_allowed(limiter, "10/minute", "b", 25) == 10
    with pytest.raises(RateLimited) as refused:
        limiter.check("10/minute", "scope", "a")
    assert refused.value.code == "rate_limited"


def test_the_window_slides_instead_of_resetting_at_its_edge():
    clock = Clock(60 * 1000 + 59)  # one second before a fixed window ends
    limiter = RateLimiter(clock)
    assert hits_allowed(limiter, "10/minute", "k", 10) == 10
    clock.now += 2  # a new fixed window, but the last minute still holds the 10 hits
    assert hits_allowed(limiter, "10/minute", "k", 10) <= 1, "a fixed window would allow 10"
    clock.now += 30  # half the old window still overlaps: about half the limit is back
    assert hits_allowed(limiter, "10/minute", "k", 10) in (4, 5, 6)
    clock.now += 120  # both windows long gone
    assert hits_allowed(limiter, "10/minute", "k", 20) == 10


def test_refused_hits_do_not_count_and_stale_keys_are_swept():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert hits_allowed(limiter, "2/second", "k", 50) == 2
    clock.now += 1
    assert hits_allowed(limiter, "2/second", "k", 3) == 0
    clock.now += 1.0
    assert hits_allowed(limiter, "2/second", "k", 3) == 2
    for number in range(20_000):
        limiter.check("1000/second", "scope", f"key-{number}")
        clock.now += 0.001
    assert len(limiter._windows) < 20_000, "keys whose windows ended are dropped"


@pytest.mark.parametrize("rule", ["10/minute", "3/second", "5/hour"])
@pytest.mark.parametrize("start", [0.0, 13.25, 59.5, 3599.9])
@pytest.mark.parametrize("pause", [0.0, 0.4, 7.0, 45.0])
def test_retry_after_is_when_the_limiter_admits_again(rule, start, pause):
    """A refused hit says how many whole seconds to wait: a second less is still refused
    (when that is later than now), exactly that is admitted."""
    clock = Clock(1_000_000.0 - 1_000_000.0 % 3600 + start)
    limiter = RateLimiter(clock)
    assert hits_allowed(limiter, rule, "k", 10) > 0
    clock.now += pause
    hits_allowed(limiter, rule, "k", 10)  # whatever the slide gives back meanwhile
    with pytest.raises(RateLimited) as refused:
        limiter.check(rule, "scope", "k")
    wait = refused.value.retry_after
    assert isinstance(wait, int) and wait >= 1
    refused_at = clock.now
    if wait > 1:
        clock.now = refused_at + wait - 1
        with pytest.raises(RateLimited):
            limiter.check(rule, "scope", "k")
    clock.now = refused_at + wait
    limiter.check(rule, "scope", "k")


RATE_LIMITED_CALLS = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/verify-email/resend"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/publisher/payouts/settings"),
    ("post", "/api/v1/marketplace/licenses/{key}/activate"),
    ("post", "/api/v1/marketplace/licenses/{key}/verify"),
    ("post", "/api/v1/marketplace/licenses/{key}/deactivate"),
    ("get", "/api/v1/marketplace/cart"),
    ("post", "/api/v1/marketplace/checkout"),
    ("post", "/api/v1/marketplace/webhooks/paypal"),
]


@pytest.mark.parametrize(("method", "path"), RATE_LIMITED_CALLS)
def test_a_rate_limited_call_documents_its_429_and_retry_after(method, path):
    """A client reading the OpenAPI document learns which calls can be refused for
    speed, and to wait ``Retry-After`` seconds."""
    answer = current_document()["paths"][path][method]["responses"]["429"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_a_refunded_hit_is_given_back_and_a_cleared_key_starts_afresh():
    clock = Clock(60 * 1000 + 30)
    limiter = RateLimiter(clock)
    assert hits_allowed(limiter, "3/minute", "k", 3) == 3
    limiter.refund("3/minute", "scope", "k")
    assert hits_allowed(limiter, "3/minute", "k", 3) == 1
    clock.now += 30  # the hits now sit in the previous window; a refund comes from there
    limiter.refund("3/minute", "scope", "k")
    limiter.refund("3/minute", "scope", "never-seen")
    assert hits_allowed(limiter, "3/minute", "k", 3) == 1
    limiter.clear("3/minute", "scope", "k")
    assert hits_allowed(limiter, "3/minute", "k", 5) == 3
