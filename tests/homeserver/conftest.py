"""Fixtures of the homeserver tier: a community room with an organiser, a member and the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import App
from bot.config import Config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from tests.homeserver.harness import bot_config, member, register, started


@dataclass
class Community:
    """An encrypted room created by an organiser, with a member in it and the bot running."""

    synapse: LocalSynapse
    room_id: str
    orga: Member
    alice: Member
    bot_user: SynapseUser
    bot_password: str
    data_dir: Path
    app: App

    def config(self, extra: str = "", grace: int = 300) -> Config:
        return bot_config(
            self.synapse,
            self.bot_user,
            self.bot_password,
            self.data_dir,
            rooms=[self.room_id],
            organisers=[],
            extra=extra,
            grace=grace,
        )

    async def restart(self, extra: str = "") -> App:
        """Stop the bot and start it again on the same data directory."""
        await self.app.stop()
        self.app = await started(self.config(extra))
        return self.app


@pytest_asyncio.fixture(loop_scope="session")
async def community(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Community]:
    """The organiser is made an organiser by power level 100 as the room's creator."""
    bot_user, bot_password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    alice_user, _ = await register(synapse, "alice")
    orga = await member(synapse, orga_user, tmp_path)
    alice = await member(synapse, alice_user, tmp_path)
    room_id = await orga.create_room(invite=[bot_user.user_id, alice_user.user_id])
    await alice.join(room_id)
    data_dir = tmp_path / "bot"
    app = await started(
        bot_config(synapse, bot_user, bot_password, data_dir, rooms=[room_id], organisers=[])
    )
    community = Community(synapse, room_id, orga, alice, bot_user, bot_password, data_dir, app)
    await alice.wait_for_member(room_id, bot_user.user_id, timeout=30)
    await orga.wait_for_member(room_id, bot_user.user_id, timeout=30)
    try:
        yield community
    finally:
        await community.app.stop()
        await alice.stop()
        await orga.stop()


pytestmark = pytest.mark.homeserver
