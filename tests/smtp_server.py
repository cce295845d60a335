"""A real SMTP server for tests: aiosmtpd on a free local port, in its own thread,
remembering every message it accepted. It can be stopped and started again on the same
port (a mail server outage), refuse recipients of some domains for good (550), and
require a login."""

import email.policy
import random
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import PATIENCE, eventually


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768 and up on Linux). The server
    stops and starts again on its port: a port from that range could meanwhile become
    the local end of some outgoing connection (a long run makes thousands), and the
    restarted server would never get it back."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class _Handler:
    def __init__(self, refused_domains: set[str]) -> None:
        self.refused_domains = refused_domains
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2] in self.refused_domains:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(
        self,
        *,
        refused_domains: set[str] = frozenset(),
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.handler = _Handler(set(refused_domains))
        options: dict = {}
        if login is not None:
            options = {
                "authenticator": _Authenticator(*login),
                "auth_required": True,
                "auth_require_tls": False,
            }
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port; a stopped controller cannot restart."""
        if self.controller is None:
            self.controller = Controller(
                self.handler, hostname=self.host, port=self.port, ready_timeout=10, **self.options
            )
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return [r.message for r in self.handler.received]

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    async def wait_for(self, count: int, timeout: float = PATIENCE) -> list[EmailMessage]:
        """The messages once there are ``count`` (or all there are at the deadline)."""

        async def arrived():
            return len(self.messages) >= count

        await eventually(arrived, timeout, interval=0.05)
        return self.messages


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (
            (auth_data.login, auth_data.password) == self.expected
        ):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)
