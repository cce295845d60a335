"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine

from api.body_limit import BodyLimitMiddleware
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.routers import (
    admin_accounts,
    admin_payouts,
    admin_publishers,
    auth,
    cart,
    categories,
    checkout,
    coupons,
    discovery,
    downloads,
    health,
    licenses,
    listing_moderation,
    moderation,
    orders,
    platform_analytics,
    platform_settings,
    publisher,
    publisher_analytics,
    publisher_modules,
    publisher_payouts,
    publisher_reviews,
    publisher_versions,
    review_moderation,
    reviews,
    subscriptions,
    version_moderation,
    webhooks,
)
from api.security_headers import SecurityHeadersMiddleware
from api.web_app import install_web_app
from integrations.rate_limit import RateLimiter
from integrations.temporal.front_door import TemporalConnector, TemporalFrontDoor
from integrations.wiring import Adapters, build_adapters
from models.db import make_sessionmaker
from services.credentials import PasswordHashing
from settings import Settings


def create_app(
    settings: Settings,
    engine: AsyncEngine,
    temporal: TemporalConnector,
    adapters: Adapters | None = None,
) -> FastAPI:
    """The API on ``engine`` and Temporal; ``adapters`` default to what the settings
    choose."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.adapters.aclose()
        await engine.dispose()

    app = FastAPI(
        title="FastVue Marketplace",
        version="0.1.0",
        description="Back office of the FastVue module marketplace.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.sessions = make_sessionmaker(engine)
    app.state.adapters = adapters or build_adapters(settings, app.state.sessions)
    app.state.workflows = TemporalFrontDoor(
        temporal, settings.temporal_task_queue, settings.workflow_answer_timeout
    )
    app.state.rate_limiter = RateLimiter()
    app.state.passwords = PasswordHashing(settings.password_hash_concurrency)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_body_bytes,
        exempt_path=publisher_versions.UPLOAD_PATH,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        publisher.router,
        publisher_modules.router,
        publisher_versions.router,
        downloads.router,
        licenses.router,
        cart.router,
        checkout.router,
        orders.router,
        subscriptions.router,
        webhooks.router,
        coupons.router,
        categories.public,
        discovery.router,
        categories.admin,
        moderation.router,
        version_moderation.router,
        listing_moderation.router,
        reviews.router,
        publisher_reviews.router,
        review_moderation.router,
        publisher_analytics.router,
        platform_analytics.router,
        publisher_payouts.router,
        admin_payouts.router,
        admin_publishers.router,
        admin_accounts.router,
        platform_settings.router,
    ):
        app.include_router(router)
    install_web_app(app, settings.web_dist_dir)
    return app
