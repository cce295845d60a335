"""Password hashing, access tokens (JWT) and personal API tokens: the credentials the API
checks and the CLI creates, in one place for both."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_TOKEN_PREFIX = "fvm_"
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


def issue_access_token(
    user_id: int, *, secret: str, issuer: str, ttl: timedelta
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + ttl
    claims = {"sub": str(user_id), "iss": issuer, "iat": now, "exp": expires, "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256"), expires


def read_access_token(token: str, *, secret: str, issuer: str) -> int | None:
    """The user id in a valid, unexpired token of ours; None for anything else."""
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
    try:
        return int(claims["sub"])
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
