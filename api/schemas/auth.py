"""Accounts: registration, sign-in, the caller and personal API tokens."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.schemas import Int, SingleLine, Strict
from domain.access import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, Role, Scope


class RegisterIn(Strict):
    email: EmailStr = Field(max_length=EMAIL_MAX)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    full_name: SingleLine | None = Field(default=None, max_length=200)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    role: Role
    created_at: datetime


class MeOut(UserOut):
    scopes: list[Scope]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class ApiTokenIn(Strict):
    name: SingleLine = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_in_days: Int = Field(
        default=90, ge=1, le=36_500, description="at most the api_token_max_ttl setting"
    )


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    token_prefix: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The secret. Shown only in this response.")
