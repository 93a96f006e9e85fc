"""Mail out through a real local SMTP server: the message, the login, refusals and silence."""

from __future__ import annotations

import logging

import pytest

from bot.config import parse_config
from bot.config.outbound import MailConfig
from bot.errors import MailFailed
from bot.mail import Mail, SmtpMailer
from tests.mailserver import USERNAME, MailServer, mail_server

HEAD = """\
matrix: {homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}
rooms: ["!hub:localhost"]
"""


def mail_config(server: MailServer, **extra: object) -> MailConfig:
    config = parse_config(HEAD + server.config(**extra), source="bot.yaml", environ={})
    assert config.mail is not None
    return config.mail


async def test_a_mail_is_delivered_with_its_headers_after_a_login(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The mail reaches the server as plain UTF-8 text with From, To, Subject, Date, Message-ID
    and Auto-Submitted, after logging in; the log names no address."""
    caplog.set_level(logging.DEBUG)
    with mail_server() as server:
        mailer = SmtpMailer(mail_config(server))
        await mailer.send(Mail("camille.durand@insee.fr", "Votre code 123456", "Bonjour, é ✅"))
        mail = await server.next_to("camille.durand@insee.fr")
    assert server.logins == [USERNAME]
    assert (mail["From"], mail["Subject"], mail["Auto-Submitted"]) == (
        "SSP Hub <bot@ssphub.test>", "Votre code 123456", "auto-generated"
    )  # fmt: skip
    assert mail["Date"] and mail["Message-ID"].endswith("@ssphub.test>")
    body = mail.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Bonjour, é ✅"
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert ours and not [line for line in ours if "camille.durand" in line]


async def test_a_refused_recipient_or_a_silent_server_is_a_mail_failure() -> None:
    """A recipient the server refuses, and a server that is not there, both raise MailFailed."""
    with mail_server() as server:
        server.refused.add("personne@insee.fr")
        config = mail_config(server, timeout_seconds=2)
        with pytest.raises(MailFailed):
            await SmtpMailer(config).send(Mail("personne@insee.fr", "code", "texte"))
    with pytest.raises(MailFailed):
        await SmtpMailer(config).send(Mail("camille.durand@insee.fr", "code", "texte"))
    assert server.received == []


async def test_a_wrong_password_is_a_mail_failure() -> None:
    """The server refusing the login is a failure too; nothing is sent."""
    with mail_server() as server:
        config = mail_config(server, timeout_seconds=2)
        config = config.model_copy(update={"username": "someone-else"})
        with pytest.raises(MailFailed):
            await SmtpMailer(config).send(Mail("camille.durand@insee.fr", "code", "texte"))
    assert server.received == [] and server.logins == []
