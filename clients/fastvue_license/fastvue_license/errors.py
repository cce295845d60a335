"""What can go wrong, each with the ``code`` a ``LicenseResult`` reports for it.

Every exception here is a ``LicenseError``. Those that say a document must not be trusted
(``InvalidSignature``, ``UnknownKey``, ``MalformedDocument``, ``UnsupportedContract``,
``AnswerMismatch``, ``StaleDocument``) are never a reason to fall back to the cache; only
``ServerUnreachable`` is. The codes follow the marketplace's contract (README, "License
answers"): ``INVALID_SIGNATURE``, ``REPLAYED``, ``DOMAIN_MISMATCH`` and ``EXPIRED`` are what
an instance concludes (``UnknownKey``, ``MalformedDocument`` and ``UnsupportedContract``
are kinds of ``INVALID_SIGNATURE``: only the message tells them apart).
"""


class LicenseError(Exception):
    """Base class. ``code`` is what ``LicenseResult.code`` says for it."""

    code = "ERROR"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidSignature(LicenseError):
    """The signature does not verify with the key it names."""

    code = "INVALID_SIGNATURE"


class UnknownKey(InvalidSignature):
    """The document names a key that is neither pinned nor endorsed by a pinned key."""


class MalformedDocument(InvalidSignature):
    """Signed, but not a document of the expected kind in canonical form."""


class UnsupportedContract(InvalidSignature):
    """A contract version this client does not know: update the client."""


class AnswerMismatch(LicenseError):
    """A genuine document, but for another license key, instance, module or request (a
    replayed answer)."""

    code = "REPLAYED"


class DomainMismatch(AnswerMismatch):
    """A genuine document for this instance, but for another domain."""

    code = "DOMAIN_MISMATCH"


class StaleDocument(LicenseError):
    """Past its ``valid_until`` (a cached answer: the offline grace is over) or
    ``not_after`` (an offline file), or issued in the future, beyond the clock skew."""

    code = "EXPIRED"


class ServerUnreachable(LicenseError):
    """No answer from the marketplace (network, 5xx, rate limited): the cached answer may
    stand in until its ``valid_until``."""

    code = "UNREACHABLE"


class RequestRefused(LicenseError):
    """The marketplace refused the request without a signed answer (a 4xx such as a
    malformed key): a mistake in this instance's configuration."""

    code = "REQUEST_REFUSED"

    def __init__(self, detail: str, status: int, error: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
