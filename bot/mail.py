"""Mail out through the configured SMTP server (``mail:``): the standard library's smtplib, in a
worker thread so the event loop never waits on the server. Only address confirmation codes are
sent; the log names no address."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from bot.config.outbound import MailConfig
from bot.errors import MailFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    """One plain-text mail to one address."""

    to: str
    subject: str
    text: str


class SmtpMailer:
    """Sends mails through one SMTP server: STARTTLS, implicit TLS or plain, with a login when
    the configuration gives one."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config

    async def send(self, mail: Mail) -> None:
        """Send ``mail``; raises ``MailFailed`` when the server refuses it or does not answer."""
        import smtplib  # at the first mail, not at start

        message = self._message(mail)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (smtplib.SMTPException, OSError, ValueError) as error:
            log.warning("mail not sent: %s", type(error).__name__)
            raise MailFailed(type(error).__name__) from error
        log.info("mail sent through %s", self.config.host)

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.config.sender)[1].rpartition("@")[2]
        message["Message-ID"] = make_msgid(domain=domain or None)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic reply, please
        message.set_content(mail.text)
        return message

    def _deliver(self, message: EmailMessage) -> None:
        """One SMTP session (blocking: run in a worker thread)."""
        import smtplib

        config, context = self.config, ssl.create_default_context()
        timeout = config.timeout_seconds
        if config.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=timeout, context=context
            )
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with server:
            if config.security == "starttls":
                server.starttls(context=context)
            if config.username and config.password:
                server.login(config.username, config.password.get_secret_value())
            server.send_message(message)
