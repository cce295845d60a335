"""The FastAPI application factory."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine

from api.body_limit import BodyLimitMiddleware
from api.errors import ErrorBody, install_error_handlers
from api.rate_limit import RateLimiter
from api.routers import (
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
from api.temporal import TemporalConnector
from integrations.license_vault import LicenseVault
from integrations.payments.registry import gateways_from
from integrations.search import build_search
from integrations.wiring import keyring_from, license_keyring_from, storage_from
from models.db import make_sessionmaker
from settings import Settings

ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 503)}


def create_app(settings: Settings, engine: AsyncEngine, temporal: TemporalConnector) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        await app.state.search.aclose()
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
    app.state.temporal = temporal
    app.state.search = build_search(settings, app.state.sessions)
    app.state.storage = storage_from(settings)
    app.state.keyring = keyring_from(settings)
    app.state.license_keys = license_keyring_from(settings)
    app.state.license_vault = LicenseVault(settings.resolved_license_key_secret())
    app.state.rate_limiter = RateLimiter()
    app.state.gateways = gateways_from(settings)
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
        reviews.router,
        publisher_reviews.router,
        review_moderation.router,
        publisher_analytics.router,
        platform_analytics.router,
        publisher_payouts.router,
        admin_payouts.router,
        admin_publishers.router,
        platform_settings.router,
    ):
        app.include_router(router)
    return app
