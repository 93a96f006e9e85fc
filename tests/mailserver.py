"""A real SMTP server on 127.0.0.1 (aiosmtpd, in its own thread) that keeps what it accepts."""

from __future__ import annotations

import re
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.polling import until

USERNAME, PASSWORD = "ssphub-bot", "mail-secret"
_CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class MailServer:
    """The server's address, what it accepted, and the recipients it refuses."""

    host: str
    port: int
    received: list[EmailMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)

    def config(self, **extra: Any) -> str:
        """The bot's ``mail:`` section for this server (plain SMTP, with a login)."""
        options = "".join(f"\n  {key}: {value}" for key, value in extra.items())
        return (
            f"mail:\n  host: {self.host}\n  port: {self.port}\n  security: none\n"
            f"  username: {USERNAME}\n  password: {PASSWORD}\n"
            f'  sender: "SSP Hub <bot@ssphub.test>"{options}\n'
        )

    async def next_to(self, address: str, seen: int = 0, timeout: float = 10) -> EmailMessage:
        """The first mail to ``address`` after the ``seen`` first ones (a bounded poll)."""

        def mine() -> list[EmailMessage]:
            return [m for m in self.received if str(m["To"]) == address][seen:]

        async def arrived() -> bool:
            return bool(mine())

        await until(arrived, timeout)
        return mine()[0]


def code_in(mail: EmailMessage) -> str:
    """The six-digit code a confirmation mail carries."""
    body = mail.get_body(("plain",))
    assert body is not None
    found = _CODE.search(str(body.get_content()))
    assert found is not None, "no code in the mail"
    return found[1]


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.server.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.server.received.append(mail)
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's controller, without its warning about a login over plain SMTP (on loopback,
    in a test, that is the point)."""

    def factory(self) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return super().factory()  # type: ignore[no-untyped-call]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mail_server() -> Iterator[MailServer]:
    """A started SMTP server asking for a login, stopped at the end."""
    server = MailServer("127.0.0.1", _free_port())

    def authenticator(
        _smtp: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        if good:
            server.logins.append(USERNAME)
        return AuthResult(success=good)

    controller = _Controller(
        _Handler(server), hostname=server.host, port=server.port,
        authenticator=authenticator, auth_required=True, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
