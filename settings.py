"""Runtime settings: every value has an embedded default so a fresh checkout runs as is.

Override any of them with an environment variable prefixed ``MARKETPLACE_`` (or a ``.env``
file). Secrets left empty are generated once under the data directory (by
``integrations.wiring``), never taken from constants in the repository. This module imports
nothing of the project's own.
"""

from datetime import timedelta
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKETPLACE_", extra="ignore", frozen=True)

    data_dir: Path = Path(".data")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; empty runs embedded Postgres under data_dir"
    )
    database_pool_size: int = 10

    temporal_address: str | None = Field(
        default=None, description="host:port of Temporal; empty runs the embedded dev server"
    )
    temporal_namespace: str = "default"
    temporal_task_queue: str = "marketplace"
    temporal_dev_port: int = 7233
    temporal_ui_port: int = 8233

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    cors_origins: list[str] = []
    trusted_proxies: list[str] = Field(
        default=[],
        description="addresses or CIDR networks of the reverse proxies in front of the API; "
        "only a request from one of them has its X-Forwarded-For (and X-Forwarded-Proto) "
        "believed, and then only up to the right-most address that is not a trusted proxy. "
        "Empty: no forwarded header is believed, the peer address is the client",
    )
    web_dist_dir: Path = Field(
        default=Path(__file__).resolve().parent / "web" / "dist",
        description="the built storefront (vite build of web/); served on the API's origin "
        "when it holds an index.html",
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024, description="cap on JSON and form bodies (uploads have their own)"
    )

    jwt_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="HS256 key, 32+ characters; empty uses a random key kept in data_dir",
    )
    jwt_issuer: str = "fastvue-marketplace"
    access_token_ttl: timedelta = timedelta(hours=1)
    sign_in_failures_per_account_client: str = Field(
        default="5/minute",
        description="failed sign-ins of one account from one client address before that "
        "pair backs off (429 with Retry-After); other addresses are not affected",
    )
    sign_in_failures_per_client: str = Field(
        default="30/minute",
        description="failed sign-ins from one client address, whatever the account",
    )
    register_rate_per_client: str = "20/hour"
    password_hash_concurrency: int = Field(
        default=2, ge=1, description="password hashes and checks run at once, off the event loop"
    )
    api_token_max_ttl: timedelta = timedelta(days=365)
    email_verification_ttl: timedelta = Field(
        default=timedelta(days=2), description="how long a mailed verification token is good"
    )
    password_reset_ttl: timedelta = Field(
        default=timedelta(hours=1), description="how long a mailed password reset token is good"
    )
    verification_mail_rate_per_account: str = Field(
        default="3/hour", description="verification mails one account may ask to be sent again"
    )
    password_reset_rate_per_email: str = Field(
        default="3/hour",
        description="password reset requests for one address, whether or not it has an account",
    )
    password_reset_rate_per_client: str = Field(
        default="10/hour", description="password reset requests from one client address"
    )
    email_token_rate_per_client: str = Field(
        default="30/hour",
        description="mailed tokens (verification, password reset) one client address may "
        "redeem or try",
    )
    password_check_failures_per_account: str = Field(
        default="5/15minutes",
        description="wrong current passwords (password change, payout destination) one "
        "signed-in account may send before it backs off",
    )

    review_reminder_after: timedelta = timedelta(days=3)
    review_escalate_after_reminders: int = 2
    admin_notification_email: str = "marketplace-admins@localhost"

    mail_from: str = "FastVue Marketplace <no-reply@localhost>"
    mail_backend: Literal["file", "smtp"] = Field(
        default="file", description="file: .eml files under data_dir/mail; smtp: the server below"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls", description="ssl is implicit TLS (usually port 465)"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: timedelta = timedelta(seconds=10)

    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="how buyers reach the API (download links)"
    )
    max_upload_bytes: int = 50 * 1024 * 1024
    upload_max_parts: int = Field(
        default=8, ge=1, description="parts of a version upload, the file and text fields"
    )
    upload_max_text_bytes: int = Field(
        default=64 * 1024, ge=1, description="total of a version upload's text fields"
    )
    archive_max_entries: int = 2000
    archive_max_total_uncompressed: int = 200 * 1024 * 1024
    archive_max_ratio: float = 100.0

    storage_backend: Literal["local", "s3"] = "local"
    download_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="signs local download links, 32+ characters; empty: a key in data_dir",
    )
    download_url_ttl: timedelta = timedelta(minutes=5)
    s3_endpoint_url: str | None = None
    s3_bucket: str = "module-packages"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"

    signing_private_key_pem: SecretStr | None = Field(
        default=None, description="ECDSA P-256 PEM; empty uses a dev key generated in data_dir"
    )
    signing_retired_public_keys_pem: list[str] = []

    scan_reject_severity: Literal["LOW", "MEDIUM", "HIGH"] = "HIGH"
    scan_review_severity: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"
    osv_url: str = "https://api.osv.dev/v1/query"
    pip_audit_timeout: timedelta = timedelta(minutes=2)
    scan_concurrency: int = Field(default=2, ge=1, le=64)

    license_signing_private_key_pem: SecretStr | None = Field(
        default=None, description="Ed25519 PEM; empty uses a dev key generated in data_dir"
    )
    license_retired_public_keys_pem: list[str] = []
    license_key_endorsements: list[dict[str, str]] = Field(
        default=[],
        description="signed endorsements of new license keys (`marketplace license endorse-key`)",
    )
    license_key_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="encrypts license keys at rest; empty uses a key kept in data_dir",
    )
    license_answer_cache: timedelta = Field(
        default=timedelta(hours=24), description="how long a VALID answer may be relied on"
    )
    offline_license_lifetime: timedelta = timedelta(days=30)
    license_churn_window: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="an instance given up counts against the churn limit this long",
    )
    license_churn_extra_instances: int = Field(
        default=2,
        ge=0,
        le=1000,
        description="instances a license may serve within the churn window beyond its seats",
    )
    verify_rate_per_key: str = "60/minute"
    verify_rate_per_client: str = "300/minute"
    coupon_rate_per_client: str = Field(
        default="30/minute", description="coupon lookups (cart preview, checkout) per address"
    )
    paypal_webhook_rate_per_client: str = Field(
        default="120/minute",
        description="PayPal webhook deliveries per address (each costs a verification call)",
    )
    coupon_rate_per_account: str = Field(
        default="10/minute", description="coupon lookups (cart preview, checkout) per account"
    )

    search_backend: Literal["postgres", "typesense"] = "postgres"
    typesense_url: str = "http://127.0.0.1:8108"
    typesense_api_key: SecretStr | None = None
    typesense_collection: str = "modules"

    local_gateway_enabled: bool = Field(
        default=True, description="the test-card gateway; turn off in production"
    )
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(default=None, description="tests: a Stripe emulator")
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    paypal_sandbox: bool = False
    paypal_api_base: str | None = Field(default=None, description="tests: a PayPal fake")
    checkout_confirm_timeout: timedelta = Field(
        default=timedelta(minutes=30), description="an order not paid by then expires"
    )
    refund_window: timedelta = Field(
        default=timedelta(days=14), description="how long buyers may refund their own orders"
    )
    dunning_retry_days: list[int] = Field(
        default=[1, 3, 7], description="days between failed renewal attempts, then expiry"
    )
    expiry_reminder_days: int = Field(
        default=7, ge=0, description="remind buyers this many days before a license ends"
    )
    commission_rate_percent: str = Field(
        default="30.00", description="default for new publishers; admins change it at run time"
    )
    payout_minimum: str = Field(
        default="50.00", description="a month's net below this carries over to the next"
    )

    payout_transfer_attempts: int = Field(
        default=8, ge=1, description="tries of one payout transfer before it is marked failed"
    )
    payout_retry_interval: timedelta = Field(
        default=timedelta(seconds=10), description="first wait between transfer tries (doubles)"
    )
    payout_transfer_timeout: timedelta = Field(
        default=timedelta(seconds=90),
        description="how long one call to the payout provider may take before it is tried "
        "again (under the same idempotency key), on another worker if this one died",
    )
    payout_poll_interval: timedelta = Field(
        default=timedelta(hours=1), description="how often a PayPal payout batch is read again"
    )
    payout_poll_limit: timedelta = Field(
        default=timedelta(days=31), description="a payout not settled by then is marked failed"
    )

    seller_name: str = Field(default="FastVue Marketplace", description="on invoices")
    seller_address: str = Field(
        default="Example Street 1\n1000 Example City", description="on invoices, below the name"
    )

    worker_max_concurrent_activities: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="activities one worker runs at once; keep it near the database pool",
    )
    worker_shutdown_grace: timedelta = timedelta(seconds=30)
    workflow_answer_timeout: timedelta = Field(
        default=timedelta(seconds=60),
        description="how long a request waits for a workflow to answer (a review decision, a "
        "checkout confirmation, a subscription cancel); past it 503 workflow_not_answering",
    )
    activity_timeout: timedelta = Field(
        default=timedelta(seconds=60),
        description="how long one gateway or database step of a checkout, or one database "
        "step of a payout, may take before it is tried again, on another worker if this one "
        "died",
    )
    ingestion_step_timeout: timedelta = Field(
        default=timedelta(minutes=2),
        description="how long one quick step of the version pipeline may take before it is "
        "tried again, on another worker if this one died",
    )
    ingestion_scan_timeout: timedelta = Field(
        default=timedelta(minutes=15), description="how long a version's scan may take in all"
    )
    ingestion_scan_heartbeat: timedelta = Field(
        default=timedelta(seconds=12),
        description="a scan silent this long is taken for dead and run again (it heartbeats "
        "every few seconds)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # a ValueError names the bad entry; "10.0.0.1/8" becomes 10.0.0.0/8, as uvicorn takes it
        return [str(ip_network(entry.strip(), strict=False)) for entry in value]

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_dev_port}"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def payments_dir(self) -> Path:
        return self.data_dir / "payments"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def platform_defaults(self) -> dict[str, Any]:
        """Defaults of the admin-editable platform settings (domain.platform_settings)."""
        from decimal import Decimal

        return {
            "commission_rate_percent": Decimal(self.commission_rate_percent),
            "payout_minimum": Decimal(self.payout_minimum),
            "tax_rate_percent": Decimal("0.00"),
            "refund_window_days": self.refund_window.days,
            "review_reminder_days": max(1, self.review_reminder_after.days),
            "scan_reject_severity": self.scan_reject_severity,
            "scan_review_severity": self.scan_review_severity,
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()
