"""Telling a member, once and plainly in a DM, that their client keeps its keys from the bot."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.errors import DeliveryError
from bot.i18n import Catalogue
from bot.messages import Message, Postbox
from bot.services.subscriptions import DirectChats
from bot.storage import state
from bot.storage.db import Database
from bot.trust import KeyWithheld

log = logging.getLogger(__name__)

TOLD_PREFIX = "key_withheld_told:"


def told_key(user_id: str) -> str:
    """The bot state key recording that ``user_id`` was told (a digest: keys are short)."""
    return TOLD_PREFIX + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def notice_key(notice: KeyWithheld, bot_signed: bool) -> str:
    """The catalogue message that explains ``notice``'s code."""
    if notice.code == "m.unverified":
        return "crypto.withheld.unverified" if bot_signed else "crypto.withheld.bot_unsigned"
    if notice.code == "m.blacklisted":
        return "crypto.withheld.blacklisted"
    return "crypto.withheld.other"


class KeyWithheldNotices:
    """One DM per member whose client withheld a room key from the bot, ever."""

    def __init__(
        self,
        db: Database,
        postbox: Postbox,
        direct: DirectChats,
        t: Catalogue,
        clock: Clock,
        bot_signed: Callable[[], bool],
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.direct = direct
        self.t = t
        self.clock = clock
        self.bot_signed = bot_signed
        self._lock = asyncio.Lock()  # one DM opened at a time: never two for one member

    async def tell(self, notice: KeyWithheld) -> None:
        """Tell the member in their DM, unless they were told before."""
        async with self._lock:
            if await self._told(notice.sender):
                return
            try:
                room_id = await self.direct.open(notice.sender)
            except DeliveryError as error:
                log.warning("no DM with %s to explain the withheld key: %s", notice.sender, error)
                return
            async with self.db.session() as session:
                await self.postbox.post(session, Message(room_id=room_id, text=self.text(notice)))
                await state.set_value(
                    session, told_key(notice.sender), self.clock.now().isoformat()
                )
            log.info("told %s in their DM why the bot cannot read them", notice.sender)

    async def _told(self, user_id: str) -> bool:
        async with self.db.session() as session:
            return await state.get_value(session, told_key(user_id)) is not None

    def text(self, notice: KeyWithheld) -> str:
        where = (
            self.t("crypto.withheld.in_room", room=notice.room_name or notice.room_id)
            if notice.room_id
            else self.t("crypto.withheld.anywhere")
        )
        return self.t(notice_key(notice, self.bot_signed()), where=where, code=notice.code)
