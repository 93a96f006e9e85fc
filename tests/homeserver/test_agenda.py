"""The agenda end to end: the hub's event feed, served over HTTP, answers !agenda and !prochain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import SystemClock
from bot.storage import feeds
from bot.storage.models import EventRow
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import feed_server
from tests.homeserver.conftest import Community
from tests.homeserver.harness import poll
from tests.homeserver.test_reminders import ShiftedClock
from tests.services.agenda.rig import DARES, paris

pytestmark = pytest.mark.homeserver

DARES_LINK = "https://ssphub.netlify.app/event/2026-03-dares-conventions-collectives/"


async def ask(community: Community, command: str) -> str:
    """The member sends a command; the text of the bot's reply."""
    event_id = await community.alice.send_text(community.room_id, command)
    answer = await community.alice.wait_for_reply(community.room_id, event_id, timeout=30)
    return answer.body


async def test_agenda_and_next_answer_from_the_hub_event_feed(community: Community) -> None:
    """On 2 March 2026 (the bot's clock), a member's !agenda and !prochain show the 18 March
    event read from the real event feed, in French and Paris time."""
    async with feed_server() as server:
        url = server.serve("/event.xml", load_feed("event"))
        await community.app.stop()
        clock = ShiftedClock(paris("2026-03-02 10:00") - SystemClock().now())
        extra = f"feeds:\n  - url: {url}\n    interval: 60\n    default_kind: event\n"
        community.app = App(community.config(extra), clock=clock)
        await community.app.start()

        async def recorded() -> bool:
            async with community.app.db.session() as session:
                state = await feeds.find_feed(session, url)
            return state is not None and state.first_poll_done

        await poll(recorded)
        async with community.app.db.session() as session:
            number = await session.scalar(select(EventRow.id).where(EventRow.title == DARES))
        assert await ask(community, "!agenda") == (
            "📅 Agenda des 30 prochains jours (heure de Paris) :\n"
            f"• n°{number} — mercredi 18 mars, horaire à préciser — {DARES} — {DARES_LINK}"
        )
        lines = (await ask(community, "!prochain")).split("\n")
        assert lines[:2] == [
            f"📅 {DARES} (n°{number})",
            "🗓️ mercredi 18 mars 2026, horaire à préciser",
        ]
        assert lines[-1] == f"🔗 {DARES_LINK}"
