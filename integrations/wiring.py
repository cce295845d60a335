"""The one place the adapters the settings choose are built, for the API and the worker alike.

``build_adapters`` makes each adapter once per process; everything else takes them from the
``Adapters`` it returns (the API through its typed dependencies, the worker through the
activity classes' constructors). Secrets the settings leave empty are generated once into
the data directory here too.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from domain.archive import ArchiveLimits
from domain.payouts import PayoutOptions
from integrations.download_links import DownloadLinks
from integrations.license_signing import LicenseKeyRing
from integrations.license_vault import LicenseVault
from integrations.mail import FileMailer, Mailer, SmtpMailer
from integrations.payments import PaymentGateway
from integrations.payments.local import LocalGateway
from integrations.payments.paypal_gateway import PayPalGateway
from integrations.payments.registry import Gateways
from integrations.payments.stripe_gateway import StripeGateway
from integrations.payouts import (
    PayoutRail,
    PayoutRails,
    PayPalPayouts,
    StripeConnectPayouts,
)
from integrations.paypal import PayPalClient
from integrations.private_files import create_once
from integrations.search import (
    PostgresSearch,
    SearchBackend,
    SessionSource,
    TypesenseSearch,
    typesense_client,
)
from integrations.signing import KeyRing
from integrations.storage import ObjectStorage, S3Storage, build_storage
from settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _generated_secret(path: Path) -> str:
    """A random secret kept under the data dir, created once (mode 0600)."""
    return create_once(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


def jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    return _generated_secret(settings.data_dir / "secrets" / "jwt.key")


def download_secret(settings: Settings) -> bytes:
    if settings.download_secret is not None:
        return settings.download_secret.get_secret_value().encode()
    return _generated_secret(settings.data_dir / "secrets" / "download.key").encode()


def license_key_secret(settings: Settings) -> str:
    if settings.license_key_secret is not None:
        return settings.license_key_secret.get_secret_value()
    return _generated_secret(settings.data_dir / "secrets" / "license-keys.key")


def storage_from(settings: Settings) -> ObjectStorage:
    storage = build_storage(
        settings.storage_backend,
        data_dir=settings.data_dir,
        public_base_url=settings.public_base_url,
        secret=download_secret(settings),
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_bucket=settings.s3_bucket,
        s3_access_key=_secret(settings.s3_access_key),
        s3_secret_key=_secret(settings.s3_secret_key),
        s3_region=settings.s3_region,
    )
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()
    return storage


def paypal_from(settings: Settings) -> PayPalClient | None:
    """The PayPal REST client, when credentials are set; the checkout gateway and the
    payouts rail share it (one OAuth token, one connection pool)."""
    if not settings.paypal_client_id or settings.paypal_client_secret is None:
        return None
    return PayPalClient(
        settings.paypal_client_id,
        settings.paypal_client_secret.get_secret_value(),
        api_base=settings.paypal_api_base,
        sandbox=settings.paypal_sandbox,
    )


def gateways_from(settings: Settings, paypal: PayPalClient | None = None) -> Gateways:
    enabled: list[PaymentGateway] = []
    if settings.local_gateway_enabled:
        enabled.append(LocalGateway(settings.payments_dir, settings.public_base_url))
    if settings.stripe_secret_key is not None and settings.stripe_webhook_secret is not None:
        enabled.append(
            StripeGateway(
                settings.stripe_secret_key.get_secret_value(),
                settings.stripe_webhook_secret.get_secret_value(),
                api_base=settings.stripe_api_base,
            )
        )
    client = paypal or paypal_from(settings)  # the process's shared one, when given
    if client is not None and settings.paypal_webhook_id:
        enabled.append(PayPalGateway.over(client, settings.paypal_webhook_id))
    return Gateways(enabled)


def payout_rails_from(settings: Settings, paypal: PayPalClient | None = None) -> PayoutRails:
    rails: list[PayoutRail] = []
    if settings.stripe_secret_key is not None:
        rails.append(
            StripeConnectPayouts(
                settings.stripe_secret_key.get_secret_value(), api_base=settings.stripe_api_base
            )
        )
    client = paypal or paypal_from(settings)  # the process's shared one, when given
    if client is not None:
        rails.append(PayPalPayouts.over(client))
    return PayoutRails(rails)


def mailer_from(settings: Settings) -> Mailer:
    if settings.mail_backend == "smtp":
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=_secret(settings.smtp_password),
            timeout=settings.smtp_timeout.total_seconds(),
        )
    return FileMailer(settings.mail_dir)


def search_from(settings: Settings, sessions: SessionSource) -> SearchBackend:
    """The backend the settings choose. ``sessions`` serves the Postgres backend."""
    if settings.search_backend == "typesense":
        client = typesense_client(settings.typesense_url, _secret(settings.typesense_api_key))
        return TypesenseSearch(client, settings.typesense_collection)
    return PostgresSearch(sessions)


def keyring_from(settings: Settings) -> KeyRing:
    return KeyRing.from_settings(
        _secret(settings.signing_private_key_pem),
        settings.signing_retired_public_keys_pem,
        settings.data_dir,
    )


def license_keyring_from(settings: Settings) -> LicenseKeyRing:
    return LicenseKeyRing.from_settings(
        _secret(settings.license_signing_private_key_pem),
        settings.license_retired_public_keys_pem,
        settings.data_dir,
    ).endorsing(settings.license_key_endorsements)


def archive_limits_from(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_entries=settings.archive_max_entries,
        max_total_uncompressed=settings.archive_max_total_uncompressed,
        max_ratio=settings.archive_max_ratio,
    )


def payout_options_from(settings: Settings) -> PayoutOptions:
    return PayoutOptions(
        transfer_attempts=settings.payout_transfer_attempts,
        retry_initial_seconds=settings.payout_retry_interval.total_seconds(),
        poll_interval_seconds=settings.payout_poll_interval.total_seconds(),
        poll_limit_seconds=settings.payout_poll_limit.total_seconds(),
        activity_timeout_seconds=settings.activity_timeout.total_seconds(),
        transfer_timeout_seconds=settings.payout_transfer_timeout.total_seconds(),
    )


@dataclass(frozen=True)
class Adapters:
    """Everything outside this process that the settings choose, built once."""

    settings: Settings
    jwt_secret: str
    storage: ObjectStorage
    download_links: DownloadLinks
    signing_keys: KeyRing
    license_keys: LicenseKeyRing
    license_vault: LicenseVault
    gateways: Gateways
    search: SearchBackend
    mailer: Mailer
    payout_rails: PayoutRails
    paypal: PayPalClient | None = None
    """Shared by the PayPal gateway and the PayPal payouts rail."""

    async def aclose(self) -> None:
        await self.search.aclose()
        if self.paypal is not None:
            await self.paypal.aclose()


def build_adapters(settings: Settings, sessions: SessionSource) -> Adapters:
    """``sessions`` serves the adapters that read the database (the Postgres search)."""
    paypal = paypal_from(settings)
    return Adapters(
        settings=settings,
        jwt_secret=jwt_secret(settings),
        storage=storage_from(settings),
        download_links=DownloadLinks(download_secret(settings), settings.public_base_url),
        signing_keys=keyring_from(settings),
        license_keys=license_keyring_from(settings),
        license_vault=LicenseVault(license_key_secret(settings)),
        gateways=gateways_from(settings, paypal),
        search=search_from(settings, sessions),
        mailer=mailer_from(settings),
        payout_rails=payout_rails_from(settings, paypal),
        paypal=paypal,
    )
