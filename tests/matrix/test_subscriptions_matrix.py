"""The Matrix side of subscriptions: which rooms are DMs, file events, reactions translated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from nio import AsyncClient, MatrixRoom, ReactionEvent

from bot.matrix.dm import DirectRooms
from bot.matrix.files import file_content
from bot.matrix.incoming import to_reaction
from bot.matrix.privacy import DirectMap, DmCheck
from bot.messages import Document
from tests.fakes import FixedRooms

BOT = "@bot:localhost"
ALICE = "@alice:localhost"
BOB = "@bob:localhost"
HUB = "!hub:localhost"


@dataclass
class StubClient:
    """What DirectRooms reads of nio's client without the network: its rooms and its user."""

    user_id: str = BOT
    rooms: dict[str, MatrixRoom] = field(default_factory=dict)

    def room(self, room_id: str, *members: str, invited: tuple[str, ...] = ()) -> MatrixRoom:
        room = MatrixRoom(room_id, self.user_id)
        for user_id in members:
            room.add_member(user_id, "Alice Martin [Insee]" if user_id == ALICE else None, None)
        for user_id in invited:
            room.add_member(user_id, None, None, invited=True)
        self.rooms[room_id] = room
        return room


async def no_sync() -> None:
    return None


def direct(client: StubClient, left: frozenset[str] = frozenset()) -> DirectRooms:
    nio_client = cast(AsyncClient, client)
    directs = DirectMap(nio_client)
    return DirectRooms(
        nio_client, check=DmCheck(nio_client, directs, FixedRooms((HUB,))), direct=directs,
        next_sync=no_sync, left=lambda room_id: room_id in left,
    )  # fmt: skip


def test_a_dm_stops_reaching_a_member_who_left() -> None:
    """Reachable while the member is joined; not once they left, nor in an unknown room."""
    client = StubClient()
    room = client.room("!dm:localhost", BOT, ALICE)
    dms = direct(client)
    assert dms.reachable("!dm:localhost", ALICE)
    room.remove_member(ALICE)
    assert not dms.reachable("!dm:localhost", ALICE)
    assert not dms.reachable("!unknown:localhost", ALICE)


def test_display_name_from_any_shared_room() -> None:
    """The member's display name comes from the rooms the bot shares with them, without the
    control and bidi characters a hostile name would carry."""
    client = StubClient()
    client.room(HUB, BOT, ALICE, BOB)
    assert direct(client).display_name(ALICE) == "Alice Martin [Insee]"
    assert direct(client).display_name(BOB) is None
    client.room("!other:localhost", BOT, "@eve:localhost").users[
        "@eve:localhost"
    ].display_name = "Eve\u202e\x1b[31m ruoY"
    assert direct(client).display_name("@eve:localhost") == "Eve[31m ruoY"


def test_file_content_plain_and_encrypted() -> None:
    """A plain room gets `url`; an encrypted one gets `file` with the keys and the url."""
    document = Document("abonnes.csv", "text/csv", b"Email\n")
    plain = file_content(document, "mxc://localhost/abc", None)
    assert plain["url"] == "mxc://localhost/abc" and "file" not in plain
    assert plain["msgtype"] == "m.file" and plain["info"] == {"mimetype": "text/csv", "size": 6}
    keys: dict[str, Any] = {"v": "v2", "key": {"k": "secret"}, "iv": "iv", "hashes": {}}
    encrypted = file_content(document, "mxc://localhost/abc", keys)
    assert "url" not in encrypted
    assert encrypted["file"] == {**keys, "url": "mxc://localhost/abc", "mimetype": "text/csv"}
    assert encrypted["m.mentions"] == {}


def test_a_reaction_becomes_a_protocol_neutral_reaction() -> None:
    """An m.reaction annotation is handed over with what it reacts to and its key."""
    event = ReactionEvent.from_dict(
        {
            "type": "m.reaction",
            "event_id": "$reaction",
            "sender": ALICE,
            "origin_server_ts": 1_772_442_000_000,
            "content": {
                "m.relates_to": {"rel_type": "m.annotation", "event_id": "$offer", "key": "👍"}
            },
        }
    )
    reaction = to_reaction(MatrixRoom("!dm:localhost", BOT), event)
    assert (reaction.room_id, reaction.sender, reaction.reacts_to, reaction.key) == (
        "!dm:localhost",
        ALICE,
        "$offer",
        "👍",
    )
