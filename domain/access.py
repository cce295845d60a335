"""Roles and scopes: what each kind of account may do, stated once."""

from enum import StrEnum

PASSWORD_MIN = 10
PASSWORD_MAX = 256
EMAIL_MAX = 320
"""Account credential limits, the same for the API's forms and the CLI."""


class Role(StrEnum):
    CONSUMER = "consumer"
    PUBLISHER = "publisher"
    ADMIN = "admin"


class Scope(StrEnum):
    """A permission an access token carries. Endpoints declare the one they need."""

    ACCOUNT = "account"
    """Read and manage one's own account, tokens and purchases."""
    MODULES_WRITE = "modules:write"
    """Create, edit, submit and archive one's own module listings."""
    PUBLISH = "publish"
    """Upload new versions of one's own modules (for CI tokens)."""
    ADMIN = "admin"
    """Moderate modules, manage categories, publishers and platform settings."""


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.CONSUMER: frozenset({Scope.ACCOUNT}),
    Role.PUBLISHER: frozenset({Scope.ACCOUNT, Scope.MODULES_WRITE, Scope.PUBLISH}),
    Role.ADMIN: frozenset(Scope),
}


def granted_scopes(role: Role, requested: frozenset[Scope] | None = None) -> frozenset[Scope]:
    """Scopes a credential carries: the role's, narrowed to ``requested`` for API tokens."""
    allowed = ROLE_SCOPES[role]
    return allowed if requested is None else allowed & requested


def role_after_publisher_registration(role: Role) -> Role:
    return Role.ADMIN if role is Role.ADMIN else Role.PUBLISHER
