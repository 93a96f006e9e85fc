"""Housekeeping against a real Synapse: a pass prunes at start, and a command replayed by the
homeserver afterwards is still answered only once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete

from bot.app import App
from bot.clock import SystemClock
from bot.matrix.sync import SYNC_TOKEN
from bot.storage.db import Database
from bot.storage.models import BotState
from tests.homeserver.conftest import Community
from tests.homeserver.harness import poll

pytestmark = pytest.mark.homeserver

RETENTION = "retention:\n  handled_events_hours: 0.01\n  sent_messages_hours: 0.5\n"


class AheadClock(SystemClock):
    """The real clock, an hour ahead: what the bot answered a moment ago is an hour old."""

    def now(self) -> datetime:
        return super().now() + timedelta(hours=1)


async def forget_sync_token(url: str) -> None:
    """Without its token the bot's next sync hands it the rooms' recent events again."""
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(delete(BotState).where(BotState.key == SYNC_TOKEN))
    finally:
        await db.dispose()


async def test_a_replayed_command_is_not_answered_twice_after_a_pass(community: Community) -> None:
    """The bot restarts an hour later (its clock), with claims kept 36 s (below the two-hour
    grace) and sent messages 30 min: the pass at start prunes the answer's outbox row but keeps
    the claim that the grace still needs, and the command replayed by a sync from scratch is
    not answered again."""
    first = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, first)
    await community.app.stop()
    config = community.config(extra=RETENTION, grace=7200)
    await forget_sync_token(config.database_url_or_default)
    community.app = app = App(config, clock=AheadClock())
    await app.start()
    assert app.parts is not None
    housekeeping = app.parts.housekeeping
    await poll(lambda: _passed(housekeeping.passes))
    sample = app.metrics.registry.get_sample_value
    assert (sample("ssphub_pruned_rows_total", {"table": "outbox"}) or 0) >= 1
    assert sample("ssphub_pruned_rows_total", {"table": "handled_event"}) is None
    probe = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, probe, timeout=30)
    assert len([seen for seen in community.alice.seen if seen.in_reply_to == first]) == 1


async def _passed(passes: int) -> bool:
    return passes >= 1
