"""Password hashing, access tokens (JWT) and personal API tokens: the credentials the API
checks and the CLI creates, in one place for both."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_TOKEN_PREFIX = "fvm_"  # nosec B105  # the public marker of our tokens, not a secret
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-ish time whether or not the account exists, so emails can't be probed."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class PasswordHashing:
    """argon2 off the event loop: each hash or check runs in a worker thread (it takes tens
    of milliseconds of CPU, which on the loop would stall every other request, /health
    too), at most ``concurrency`` at once so a burst of sign-ins queues instead of taking
    every core."""

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("password hashing needs at least one slot")
        self.slots = asyncio.Semaphore(concurrency)

    async def hash(self, password: str) -> str:
        async with self.slots:
            return await asyncio.to_thread(hash_password, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        async with self.slots:
            return await asyncio.to_thread(verify_password, password, password_hash)


def issue_access_token(
    user_id: int,
    *,
    token_version: int,
    secret: str,
    issuer: str,
    ttl: timedelta,
) -> tuple[str, datetime]:
    """A signed-in session: good until it expires, and only while the account's token
    version is still ``token_version`` (a password change or reset, or disabling the
    account, bumps it and so ends every session issued before)."""
    now = datetime.now(UTC)
    expires = now + ttl
    claims = {
        "sub": str(user_id),
        "iss": issuer,
        "iat": now,
        "exp": expires,
        "typ": "access",
        "ver": token_version,
    }
    return jwt.encode(claims, secret, algorithm="HS256"), expires


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int


def read_access_token(token: str, *, secret: str, issuer: str) -> AccessClaims | None:
    """The user id and token version in a valid, unexpired access token of ours; None for
    anything else, a token without a version among them."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss", "ver"]},
        )
    except jwt.PyJWTError:
        return None
    version = claims.get("ver")
    if claims.get("typ") != "access" or type(version) is not int:
        return None
    try:
        return AccessClaims(int(claims["sub"]), version)
    except (TypeError, ValueError):
        return None


def new_email_token() -> tuple[str, str]:
    """A secret to mail (single use, 256 random bits) and the SHA-256 to store."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_email_token(secret)


def hash_email_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> tuple[str, str, str]:
    """A fresh token: (secret shown once, display prefix, SHA-256 stored)."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:12], hash_api_token(secret)


def hash_api_token(secret: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_token(credential: str) -> bool:
    return credential.startswith(API_TOKEN_PREFIX)
