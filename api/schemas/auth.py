"""Accounts: registration, sign-in, the caller and personal API tokens."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.schemas import Flag, Int, MultiLine, SingleLine, Strict
from domain.access import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, Role, Scope
from domain.review import REASON_MAX

MAILED_TOKEN_MAX = 200


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
    email_verified: bool = Field(
        description="whether the owner confirmed the address with a mailed code; an "
        "unverified account cannot become a publisher"
    )
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


# --- the account's lifecycle ----------------------------------------------------------


class MailedTokenIn(Strict):
    token: str = Field(min_length=1, max_length=MAILED_TOKEN_MAX, description="the mailed code")


class EmailVerifiedOut(BaseModel):
    email: str
    email_verified: bool


class AcceptedOut(BaseModel):
    detail: str


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    revoke_api_tokens: Flag = Field(
        default=False, description="revoke every API token of the account as well"
    )


class PasswordResetIn(Strict):
    email: EmailStr = Field(max_length=EMAIL_MAX)


class PasswordResetConfirmIn(MailedTokenIn):
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class AccountDisableIn(Strict):
    reason: MultiLine = Field(min_length=1, max_length=REASON_MAX)


class AccountEnableIn(Strict):
    note: MultiLine | None = Field(default=None, max_length=REASON_MAX)


class AdminAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role
    is_active: bool
    email_verified: bool
    disabled_at: datetime | None
    disabled_reason: str | None
