"""The sync acts on no event older than the claims' window, even mid-run: the housekeeping
may have pruned that event's claim (a room joined again shows its old commands)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nio import AsyncClient, MatrixRoom, RoomMessageText

from bot.matrix.sync import InvitePolicy, SyncLoop
from bot.messages import IncomingMessage
from tests.fakes import FakeClock

HUB = "!hub:localhost"


class Inbox:
    """Records the events handed to the dispatcher."""

    def __init__(self) -> None:
        self.handled: list[str] = []

    async def handle(self, message: IncomingMessage) -> None:
        self.handled.append(message.event_id)

    async def handle_reaction(self, reaction: Any) -> None: ...

    async def handle_undecryptable(self, message: IncomingMessage) -> None: ...


class Gateway:
    def __init__(self) -> None:
        self.client = AsyncClient("http://127.0.0.1:1", "@bot:localhost")


def command(event_id: str, sent_ms: int) -> RoomMessageText:
    return RoomMessageText.from_dict({
        "event_id": event_id, "sender": "@alice:localhost", "origin_server_ts": sent_ms,
        "type": "m.room.message", "content": {"msgtype": "m.text", "body": "!ping"},
    })  # fmt: skip


async def test_commands_older_than_the_window_are_not_handed_on_mid_run() -> None:
    """Two days into a run with a 48-hour window, a command of the run's first hour (older
    than the window) is ignored; one of an hour ago is handed to the dispatcher."""
    clock = FakeClock()
    started_ms = int(clock.now().timestamp() * 1000)
    inbox = Inbox()
    sync = SyncLoop(
        Gateway(), clock, tokens=None, inbox=inbox, upgrades=None,  # type: ignore[arg-type]
        invites=InvitePolicy(frozenset(), ("localhost",)), command_grace=timedelta(minutes=5),
        replay_window=timedelta(hours=48),
    )  # fmt: skip
    clock.advance(50 * 3600)
    room = MatrixRoom(HUB, "@bot:localhost")
    hour_ms = 3600 * 1000
    await sync._on_text(room, command("$early", started_ms + hour_ms))
    await sync._on_text(room, command("$recent", started_ms + 49 * hour_ms))
    await sync.tasks.drain(timeout=5)
    assert inbox.handled == ["$recent"]
    await sync.client.close()
