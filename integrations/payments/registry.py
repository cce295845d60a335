"""The gateways the settings enable, by name; the API and the worker build the same set."""

from domain.errors import DomainError
from integrations.payments import PaymentGateway
from integrations.payments.local import LocalGateway
from settings import Settings


class Gateways:
    def __init__(self, gateways: list[PaymentGateway]) -> None:
        self._by_name = {gateway.name: gateway for gateway in gateways}

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def get(self, name: str) -> PaymentGateway:
        gateway = self._by_name.get(name)
        if gateway is None:
            raise DomainError(
                "gateway_unavailable",
                f"payment gateway {name!r} is not enabled here; use one of {self.names}",
            )
        return gateway


def gateways_from(settings: Settings) -> Gateways:
    enabled: list[PaymentGateway] = []
    if settings.local_gateway_enabled:
        enabled.append(LocalGateway(settings.payments_dir, settings.public_base_url))
    if settings.stripe_secret_key is not None and settings.stripe_webhook_secret is not None:
        from integrations.payments.stripe_gateway import StripeGateway

        enabled.append(
            StripeGateway(
                settings.stripe_secret_key.get_secret_value(),
                settings.stripe_webhook_secret.get_secret_value(),
                api_base=settings.stripe_api_base,
            )
        )
    if settings.paypal_client_id and settings.paypal_client_secret and settings.paypal_webhook_id:
        from integrations.payments.paypal_gateway import PayPalGateway

        enabled.append(
            PayPalGateway(
                settings.paypal_client_id,
                settings.paypal_client_secret.get_secret_value(),
                settings.paypal_webhook_id,
                api_base=settings.paypal_api_base,
                sandbox=settings.paypal_sandbox,
            )
        )
    return Gateways(enabled)
