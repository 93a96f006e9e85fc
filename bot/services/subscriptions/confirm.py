"""Confirming an address the member's Tchap id does not encode: a code mailed to it, typed back
in the DM. The mail says which Tchap account asked, so its owner can ignore a stranger's request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import MailFailed
from bot.i18n import Catalogue
from bot.mail import Mail
from bot.storage import address_checks as checks
from bot.storage.address_checks import AddressCheck

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class Mailer(Protocol):
    """Sends one mail, or raises ``MailFailed`` (``bot.mail.SmtpMailer``)."""

    async def send(self, mail: Mail) -> None: ...


class Outcome(Enum):
    """What a code typed in the DM did."""

    CONFIRMED = "confirmed"
    WRONG = "wrong"
    TOO_MANY = "too_many"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Checked:
    """A code's outcome, with the check it answered (for its address and language)."""

    outcome: Outcome
    check: AddressCheck
    attempts_left: int = 0


class AddressConfirmation:
    """Mails codes and checks them; one pending check per member."""

    def __init__(self, mailer: Mailer, *, minutes: int) -> None:
        self.mailer = mailer
        self.lifetime = timedelta(minutes=minutes)

    @property
    def minutes(self) -> int:
        return int(self.lifetime.total_seconds() // 60)

    async def mail_code(self, user_id: str, address: str, t: Catalogue) -> str | None:
        """Mail a new code to ``address`` (network only, no database); the code, or None when
        the mail could not be sent."""
        code = checks.new_code()
        subject = t("subscriptions.code_mail_subject", code=code)
        text = t("subscriptions.code_mail", code=code, user_id=user_id, minutes=self.minutes)
        try:
            await self.mailer.send(Mail(address, subject, text))
        except MailFailed:
            return None
        return code

    async def remember(
        self, session: AsyncSession, check: AddressCheck, code: str, now: datetime
    ) -> None:
        """Keep the check for the code just mailed (replacing any earlier one)."""
        await checks.forget_expired(session, now)
        await checks.put(session, check, code, now)

    def check_for(
        self, user_id: str, room_id: str, address: str, t: Catalogue, now: datetime
    ) -> AddressCheck:
        """The check of ``address`` for the member in their DM, valid from ``now``."""
        return AddressCheck(user_id, room_id, address, t.language, 0, now + self.lifetime)

    async def verify(
        self, session: AsyncSession, user_id: str, room_id: str, code: str, now: datetime
    ) -> Checked | None:
        """The outcome of ``code`` typed in ``room_id``; None when no check waits there. A
        settled check (confirmed, expired, too many attempts) is forgotten."""
        check = await checks.pending(session, user_id)
        if check is None or check.room_id != room_id:
            return None
        if now > check.expires_at:
            await checks.forget(session, user_id)
            return Checked(Outcome.EXPIRED, check)
        if await checks.matches(session, user_id, code):
            await checks.forget(session, user_id)
            return Checked(Outcome.CONFIRMED, check)
        left = MAX_ATTEMPTS - check.attempts - 1
        if left <= 0:
            await checks.forget(session, user_id)
            return Checked(Outcome.TOO_MANY, check)
        return Checked(Outcome.WRONG, check, left)
