"""!statut says whether the bot's device is cross-signed, and what to do when it is not."""

from __future__ import annotations

import pytest

from bot.commands import meta
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.i18n import catalogue
from bot.services.ratelimit import RateLimiter
from bot.storage.db import Database
from bot.trust import DeviceTrust, KeySource, Problem
from tests import factory
from tests.commands.test_router import CONFIG, ORGANISER, FakeRoomPowers, answer_to, incoming
from tests.fakes import FakeClock

USER = "@ssphub-bot:localhost"


def dispatcher(db: Database, clock: FakeClock, trust: DeviceTrust | None) -> Dispatcher:
    """The meta commands, with the device's trust as the identity step left it."""
    config = parse_config(CONFIG, source="test.yaml", environ={"BOT_PASSWORD": "pw"})
    services = factory.services(config, clock, db, powers=FakeRoomPowers(), device_trust=trust)
    found = Dispatcher(services, RateLimiter(clock, burst=5, per_seconds=30))
    found.include(meta.router)
    return found


async def status_of(db: Database, clock: FakeClock, trust: DeviceTrust | None) -> list[str]:
    """The lines of an organiser's !statut."""
    asked = incoming("!statut", sender=ORGANISER)
    return (await answer_to(dispatcher(db, clock, trust), db, asked)).splitlines()


async def test_signed_device_is_reported_verified(db: Database, fake_clock: FakeClock) -> None:
    """A cross-signed device shows as verified, under the version line."""
    trust = DeviceTrust(USER, "BOTDEVICE", True, source=KeySource.DATA_DIR)
    lines = await status_of(db, fake_clock, trust)
    assert lines[1] == "Appareil BOTDEVICE : vérifié (signé par l’identité du compte du bot)."


@pytest.mark.parametrize("problem", list(Problem))
async def test_unsigned_device_shows_the_remedy(
    db: Database, fake_clock: FakeClock, problem: Problem
) -> None:
    """An unsigned device shows as NOT verified, with the consequence and the remedy."""
    trust = DeviceTrust(USER, "BOTDEVICE", False, problem=problem, detail="secret-free detail")
    lines = await status_of(db, fake_clock, trust)
    assert lines[1].startswith("⚠️ Appareil BOTDEVICE : NON vérifié.")
    assert "bouclier rouge" in lines[1]
    assert lines[1].endswith(catalogue("fr")(f"identity.remedy.{problem}"))
    assert not any("secret-free detail" in line for line in lines)


async def test_no_device_line_without_encryption(db: Database, fake_clock: FakeClock) -> None:
    """With encryption off (nothing checked), !statut is the summary alone."""
    assert len(await status_of(db, fake_clock, None)) == 1
