"""The enabled payment gateways, by name (``integrations.wiring`` chooses them)."""

from domain.errors import DomainError
from integrations.payments import PaymentGateway


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
