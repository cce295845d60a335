"""Building the adapters the settings choose, once, for the API and the worker alike."""

from domain.archive import ArchiveLimits
from integrations.license_signing import LicenseKeyRing
from integrations.signing import KeyRing
from integrations.storage import ObjectStorage, S3Storage, build_storage
from settings import Settings


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def storage_from(settings: Settings) -> ObjectStorage:
    storage = build_storage(
        settings.storage_backend,
        data_dir=settings.data_dir,
        public_base_url=settings.public_base_url,
        secret=settings.resolved_download_secret(),
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_bucket=settings.s3_bucket,
        s3_access_key=_secret(settings.s3_access_key),
        s3_secret_key=_secret(settings.s3_secret_key),
        s3_region=settings.s3_region,
    )
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()
    return storage


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
    )


def archive_limits_from(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_entries=settings.archive_max_entries,
        max_total_uncompressed=settings.archive_max_total_uncompressed,
        max_ratio=settings.archive_max_ratio,
    )
