"""Password hashing, access tokens (JWT) and personal API tokens: the credentials the API
checks and the CLI creates, in one place for both."""

import asyncio
import hashlib
import secrets
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


def password_stamp(password_hash: str) -> str:
    """What an access token carries of the password it was issued on: a new password
    (a new salted hash) ends every session issued before."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def issue_access_token(
    user_id: int,
    *,
    secret: str,
    issuer: str,
    ttl: timedelta,
    password_hash: str | None = None,
) -> tuple[str, datetime]:
    """With ``password_hash`` (as sign-in does), the token is good only while the account
    keeps that password (``password_stamp``)."""
    now = datetime.now(UTC)
    expires = now + ttl
    claims = {"sub": str(user_id), "iss": issuer, "iat": now, "exp": expires, "typ": "access"}
    if password_hash is not None:
        claims["pwd"] = password_stamp(password_hash)
    return jwt.encode(claims, secret, algorithm="HS256"), expires


def read_access_token(token: str, *, secret: str, issuer: str) -> tuple[int, str | None] | None:
    """The user id and password stamp (None if it has none) in a valid, unexpired token of
    ours; None for anything else."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    stamp = claims.get("pwd")
    try:
        return int(claims["sub"]), stamp if isinstance(stamp, str) else None
    except (TypeError, ValueError):
        return None


def new_api_token() -> tuple[str, str, str]:
    """A fresh token: (secret shown once, display prefix, SHA-256 stored)."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:12], hash_api_token(secret)


def hash_api_token(secret: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_token(credential: str) -> bool:
    return credential.startswith(API_TOKEN_PREFIX)
