"""A member whose client withholds its keys is told why in a DM, once, in plain words."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.i18n import catalogue
from bot.services.key_notices import KeyWithheldNotices, notice_key
from bot.storage.db import Database
from bot.storage.models import OutboxRow
from bot.trust import KeyWithheld
from tests import factory
from tests.fakes import FakeClock
from tests.subscriptions_rig import CAMILLE, FakeDirect

ROOM = "!hub:localhost"


def withheld(code: str = "m.unverified", room_id: str | None = ROOM) -> KeyWithheld:
    return KeyWithheld(CAMILLE, "CAMILLEPHONE", room_id, "SSP Hub" if room_id else None, code)


def notices(
    db: Database, clock: FakeClock, direct: FakeDirect, signed: bool = True
) -> KeyWithheldNotices:
    outbox = factory.postbox(clock, db)
    return KeyWithheldNotices(db, outbox, direct, catalogue("fr"), clock, lambda: signed)


async def dm_texts(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = await session.execute(select(OutboxRow.room_id, OutboxRow.content))
        return [(room, content["body"]) for room, content in rows.tuples()]


@pytest.mark.parametrize(
    ("code", "signed", "key"),
    [
        ("m.unverified", True, "crypto.withheld.unverified"),
        ("m.unverified", False, "crypto.withheld.bot_unsigned"),
        ("m.blacklisted", True, "crypto.withheld.blacklisted"),
        ("m.unavailable", True, "crypto.withheld.other"),
        ("org.example.custom", False, "crypto.withheld.other"),
    ],
)
def test_the_explanation_fits_the_code(code: str, signed: bool, key: str) -> None:
    """Each code gets its own plain explanation; an unverified bot says it is the bot's fault."""
    assert notice_key(withheld(code), signed) == key


async def test_told_once_even_after_a_restart(db: Database, fake_clock: FakeClock) -> None:
    """Many withheld keys, concurrently and after a restart, make one DM message."""
    direct = FakeDirect()
    first = notices(db, fake_clock, direct)
    await asyncio.gather(*(first.tell(withheld()) for _ in range(3)))
    await notices(db, fake_clock, direct).tell(withheld("m.blacklisted"))
    ((room, text),) = await dm_texts(db)
    assert room == direct.dms[CAMILLE] and direct.opened == [CAMILLE]
    assert "dans le salon « SSP Hub »" in text and "vérifiés vous-même" in text


async def test_a_key_withheld_outside_a_room_is_explained_too(
    db: Database, fake_clock: FakeClock
) -> None:
    """``m.no_olm`` names no room: the message speaks of the encrypted conversations."""
    await notices(db, fake_clock, FakeDirect(), signed=False).tell(withheld("m.no_olm", None))
    ((_, text),) = await dm_texts(db)
    assert "dans nos conversations chiffrées" in text and "m.no_olm" in text
