"""Account management for admins: disable an account (with a reason) and enable it again.
Both are audited."""

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath
from api.schemas.auth import AccountDisableIn, AccountEnableIn, AdminAccountOut
from models.user import User
from services import accounts

router = APIRouter(prefix="/api/v1/admin/marketplace/accounts", tags=["admin"])


@router.post("/{user_id}/disable", response_model=AdminAccountOut)
async def disable_account(
    user_id: IdPath, body: AccountDisableIn, admin: AdminPrincipal, session: SessionDep
) -> User:
    """The account can no longer sign in; every access token it holds is refused at once
    and its API tokens are revoked. Not one's own account (``cannot_disable_self``)."""
    return await accounts.set_disabled(
        session, user_id, disabled=True, reason=body.reason, actor_id=admin.user.id
    )


@router.post("/{user_id}/enable", response_model=AdminAccountOut)
async def enable_account(
    user_id: IdPath, body: AccountEnableIn, admin: AdminPrincipal, session: SessionDep
) -> User:
    """The account may sign in again (its old sessions and API tokens stay ended)."""
    return await accounts.set_disabled(
        session, user_id, disabled=False, reason=body.note, actor_id=admin.user.id
    )
