"""Accounts and personal API tokens."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


class User(Base, TimestampMixin):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="consumer", server_default="consumer")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    last_login_at: Mapped[datetime | None]
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Every access token carries the version it was issued at; changing or resetting the
    password and disabling the account bump it, which ends every token issued before."""
    email_verified_at: Mapped[datetime | None]
    """When the owner proved they receive mail at ``email`` (a mailed token); None: never."""
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class ApiToken(Base, TimestampMixin):
    """A personal access token; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class EmailToken(Base, TimestampMixin):
    """A single-use secret mailed to an account's address (email verification, password
    reset). Only its SHA-256 is stored; it is good once, until ``expires_at``, and only for
    the address it was mailed to."""

    __tablename__ = "email_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20), comment="verify_email | reset_password")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    """The address it was mailed to: a token for an address the account no longer has is
    worthless."""
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    """Spent, or superseded (a newer token, a password change): never good again."""
