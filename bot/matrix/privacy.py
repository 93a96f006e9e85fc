"""What a direct conversation with a member is: asked of the homeserver when it matters.

A room is the bot's DM with a member when the bot created it or recorded it as direct (its own
``m.direct`` account data), nobody but the two ever had a membership in it (joined, invited,
left, banned or knocking), no other creator is named (room version 12's ``additional_creators``),
only an invitation lets anyone in, it is none of the hub's rooms, and both have joined. While
the member is still invited it is a DM in waiting: private messages wait for the join. Anything
else is never used for private data.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

from nio import AsyncClient, DirectRoomsResponse, RoomGetStateResponse

from bot.errors import HomeserverUnreachable, PermanentDeliveryError
from bot.matrix.transport import homeserver_errors, refusal
from bot.messages import Audience

log = logging.getLogger(__name__)


class Verdict(Enum):
    """What a room is for a member's private data."""

    READY = "ready"  # a true DM, both joined: private messages go
    WAITING = "waiting"  # a true DM but the member has not joined yet: they wait
    REFUSED = "refused"  # not a DM of this member: never used for private data


@dataclass(frozen=True)
class RoomFacts:
    """What the room's current state says about who is or was in it."""

    creators: frozenset[str]
    memberships: Mapping[str, str]  # user id -> join, invite, leave, ban, knock
    join_rule: str


def room_facts(state: Sequence[Mapping[str, Any]]) -> RoomFacts:
    """The facts of a room from its full current state (every member event included)."""
    creators: set[str] = set()
    memberships: dict[str, str] = {}
    join_rule = "invite"  # the spec's default when the room has no join rules event
    for event in state:
        kind, content = event.get("type"), event.get("content") or {}
        if kind == "m.room.create":
            creators |= {
                str(event.get("sender")),
                *map(str, content.get("additional_creators", [])),
            }
        elif kind == "m.room.member":
            memberships[str(event.get("state_key"))] = str(content.get("membership"))
        elif kind == "m.room.join_rules":
            join_rule = str(content.get("join_rule"))
    return RoomFacts(frozenset(creators), memberships, join_rule)


def judge(facts: RoomFacts, bot: str, member: str, *, recorded: bool) -> tuple[Verdict, str]:
    """Whether the room is ``member``'s DM with ``bot`` now, and why not when it is not."""
    pair = {bot, member}
    if set(facts.memberships) - pair:
        return Verdict.REFUSED, "someone else is or was in the room"
    if facts.creators - pair:
        return Verdict.REFUSED, "someone else is named a creator"
    if facts.join_rule != "invite":
        return Verdict.REFUSED, f"its join rule is {facts.join_rule}"
    if bot not in facts.creators and not recorded:
        return Verdict.REFUSED, "the bot neither created it nor recorded it as direct"
    if facts.memberships.get(bot) != "join":
        return Verdict.REFUSED, "the bot is not in it"
    state = facts.memberships.get(member)
    if state == "join":
        return Verdict.READY, "a direct conversation"
    if state == "invite":
        return Verdict.WAITING, "the member has not joined yet"
    return Verdict.REFUSED, f"the member is not in it ({state or 'never invited'})"


class DirectMap:
    """The bot's own ``m.direct``: read once, then kept up to date by the bot's own writes (it
    is the only writer of its account data)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._rooms: dict[str, list[str]] | None = None
        # One write at a time: each sends the whole map, so the last one written has it all;
        # one first read, so that no update lands on a copy another caller then replaces.
        self._writing = asyncio.Lock()
        self._reading = asyncio.Lock()

    async def rooms_for(self, user_id: str) -> list[str]:
        """The rooms recorded as the bot's DMs with ``user_id``."""
        return list((await self._load()).get(user_id, []))

    async def record(self, user_id: str, room_id: str) -> None:
        """Record ``room_id`` as a DM with ``user_id`` (best effort on the homeserver)."""
        rooms = await self._load()
        if room_id in rooms.get(user_id, []):
            return
        rooms[user_id] = [*rooms.get(user_id, []), room_id]
        path = f"/_matrix/client/v3/user/{quote(str(self.client.user_id), safe='')}"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with self._writing:
            try:
                with homeserver_errors():
                    response = await self.client.send(
                        "PUT", f"{path}/account_data/m.direct", json.dumps(rooms), headers=headers
                    )
                    response.release()
            except HomeserverUnreachable as error:
                log.warning("m.direct not updated: %s", error)

    async def _load(self) -> dict[str, list[str]]:
        """The map, read once (a never-set ``m.direct`` is empty); raises a ``DeliveryError``
        while the homeserver cannot tell."""
        async with self._reading:
            if self._rooms is None:
                self._rooms = await self._read()
        return self._rooms

    async def _read(self) -> dict[str, list[str]]:
        with homeserver_errors():
            response = await self.client.list_direct_rooms()
        if isinstance(response, DirectRoomsResponse):
            return {user: list(rooms) for user, rooms in response.rooms.items()}
        if getattr(response, "status_code", None) == "M_NOT_FOUND":
            return {}
        raise refusal(response)


class DmCheck:
    """Judges a room for a member's private data from the homeserver's state, at each call."""

    def __init__(self, client: AsyncClient, direct: DirectMap, hub: Audience) -> None:
        self.client = client
        self.direct = direct
        self.hub = hub

    async def verdict(self, room_id: str, user_id: str) -> Verdict:
        """``READY``, ``WAITING`` or ``REFUSED`` for ``user_id``'s private data in ``room_id``;
        raises ``HomeserverUnreachable`` when the homeserver does not answer."""
        if room_id in self.hub.shared:
            return Verdict.REFUSED
        with homeserver_errors():
            response = await self.client.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            error = refusal(response)
            if isinstance(error, PermanentDeliveryError):
                return Verdict.REFUSED  # the bot cannot read the room: it is not in it
            raise error
        recorded = room_id in await self.direct.rooms_for(user_id)
        verdict, reason = judge(
            room_facts(response.events), str(self.client.user_id), user_id, recorded=recorded
        )
        log.debug("room %s for a member's private data: %s (%s)", room_id, verdict.value, reason)
        return verdict
