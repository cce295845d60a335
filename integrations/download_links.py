"""Our own signed download links: ``/api/v1/marketplace/fetch/{version_id}?…``.

A link names the version, who it was handed to (user and license, 0 for none) and when it
expires, HMAC-SHA256-signed with a key derived from the download secret. Following it is
the download: the API counts it (``services.downloads.fetch``) and redirects to the stored
file (the local files route or an S3 presigned URL). Handing a link out counts nothing,
so only links that are followed show up in the download figures, whatever the storage.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

FETCH_ROUTE = "/api/v1/marketplace/fetch/"
_PURPOSE = b"fastvue download link v1"


@dataclass(frozen=True)
class LinkClaims:
    version_id: int
    user_id: int | None
    license_id: int | None


class DownloadLinks:
    def __init__(self, secret: bytes, public_base_url: str) -> None:
        if len(secret) < 32:
            raise ValueError("the download URL secret must be at least 32 bytes")
        # A key of its own, so a link of this kind never passes for a storage link.
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
        self.public_base_url = public_base_url.rstrip("/")

    def url(self, claims: LinkClaims, *, now: datetime, expires_in: timedelta) -> str:
        expires = int(now.timestamp() + expires_in.total_seconds())
        query = urlencode(
            {
                "user": claims.user_id or 0,
                "license": claims.license_id or 0,
                "expires": expires,
                "signature": self._sign(claims, expires),
            }
        )
        return f"{self.public_base_url}{FETCH_ROUTE}{claims.version_id}?{query}"

    def verify(
        self,
        version_id: int,
        *,
        user: int,
        license: int,
        expires: int,
        signature: str,
        now: datetime,
    ) -> LinkClaims | None:
        """The link's claims when ``signature`` is ours for them and the link has not
        expired at ``now`` (timezone-aware); None otherwise."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        claims = LinkClaims(version_id, user or None, license or None)
        if now.timestamp() > expires:
            return None
        expected = self._sign(claims, expires).encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return None
        return claims

    def _sign(self, claims: LinkClaims, expires: int) -> str:
        message = f"{claims.version_id}\n{claims.user_id or 0}\n{claims.license_id or 0}\n{expires}"
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
