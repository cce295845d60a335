"""Publisher accounts: become a publisher, edit the profile, ask for verification."""

from fastapi import APIRouter, status

from api.deps import (
    AccountPrincipal,
    ActivePublisherDep,
    PublisherDep,
    SessionDep,
    SettingsDep,
)
from api.schemas.publishers import PublisherOut, PublisherRegisterIn, PublisherUpdateIn
from models.publisher import Publisher
from services import publishers

router = APIRouter(prefix="/api/v1/publisher", tags=["publisher"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=PublisherOut)
async def register_publisher(
    body: PublisherRegisterIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> Publisher:
    """Become a publisher, at the platform's commission rate of the day."""
    return await publishers.become_publisher(
        session, principal.user, body.model_dump(), settings=settings
    )


@router.get("/profile", response_model=PublisherOut)
async def get_profile(publisher: PublisherDep) -> Publisher:
    return publisher


@router.put("/profile", response_model=PublisherOut)
async def update_profile(
    body: PublisherUpdateIn, publisher: ActivePublisherDep, session: SessionDep
) -> Publisher:
    return await publishers.update_profile(session, publisher, body.model_dump(exclude_unset=True))


@router.post("/verify", status_code=status.HTTP_202_ACCEPTED, response_model=PublisherOut)
async def request_verification(publisher: ActivePublisherDep, session: SessionDep) -> Publisher:
    return await publishers.request_verification(session, publisher)
