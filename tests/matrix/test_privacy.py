"""What a DM is, judged from a room's state: the bot's own or recorded, only the two ever in it,
both joined; the sender holds or refuses private rows accordingly."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any, cast

import pytest
from nio import AsyncClient, DirectRoomsResponse

from bot.matrix.privacy import DirectMap, Verdict, judge, room_facts

BOT, ALICE, EVE = "@bot:localhost", "@alice:localhost", "@eve:localhost"


def create(sender: str, *others: str) -> dict[str, Any]:
    content: dict[str, Any] = {"room_version": "12"}
    if others:
        content["additional_creators"] = list(others)
    return {"type": "m.room.create", "state_key": "", "sender": sender, "content": content}


def member(user: str, membership: str) -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user, "content": {"membership": membership}}


def join_rule(rule: str) -> dict[str, Any]:
    return {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": rule}}


CASES = [
    ("the bot's DM, both joined", [create(BOT), member(BOT, "join"), member(ALICE, "join")],
     False, Verdict.READY),
    ("the bot's DM, member invited", [create(BOT), member(BOT, "join"), member(ALICE, "invite")],
     False, Verdict.WAITING),
    ("the member's DM, recorded", [create(ALICE), member(ALICE, "join"), member(BOT, "join")],
     True, Verdict.READY),
    ("the member's DM, not recorded", [create(ALICE), member(ALICE, "join"), member(BOT, "join")],
     False, Verdict.REFUSED),
    ("someone left: the attack", [create(EVE), member(EVE, "leave"), member(BOT, "join"),
     member(ALICE, "invite")], True, Verdict.REFUSED),
    ("a third member joined", [create(BOT), member(BOT, "join"), member(ALICE, "join"),
     member(EVE, "join")], False, Verdict.REFUSED),
    ("a third member invited", [create(BOT), member(BOT, "join"), member(ALICE, "join"),
     member(EVE, "invite")], False, Verdict.REFUSED),
    ("a third member banned", [create(BOT), member(BOT, "join"), member(ALICE, "join"),
     member(EVE, "ban")], False, Verdict.REFUSED),
    ("another creator (v12)", [create(BOT, EVE), member(BOT, "join"), member(ALICE, "join")],
     False, Verdict.REFUSED),
    ("public join rule", [create(BOT), member(BOT, "join"), member(ALICE, "join"),
     join_rule("public")], False, Verdict.REFUSED),
    ("the member left", [create(BOT), member(BOT, "join"), member(ALICE, "leave")],
     False, Verdict.REFUSED),
    ("the member was never invited", [create(BOT), member(BOT, "join")], False, Verdict.REFUSED),
    ("the bot left", [create(BOT), member(BOT, "leave"), member(ALICE, "join")],
     False, Verdict.REFUSED),
]  # fmt: skip


@pytest.mark.parametrize(("state", "recorded", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_dm_is_the_bots_own_room_with_only_the_member_both_joined(
    state: list[dict[str, Any]], recorded: bool, expected: Verdict
) -> None:
    """Only a room the bot created or recorded, where only the two ever were, invitation-only,
    is a DM: ready once the member joined, waiting while invited, refused otherwise."""
    verdict, reason = judge(room_facts(state), BOT, ALICE, recorded=recorded)
    assert verdict is expected and reason


async def next_turn() -> None:
    """Let every other ready task run once."""
    turn = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(turn.set_result, None)
    await turn


class StubAccount:
    """What DirectMap uses of nio's client: its m.direct, read slowly, and the PUTs it gets."""

    user_id = BOT
    access_token = "token"

    def __init__(self) -> None:
        self.puts: list[dict[str, list[str]]] = []

    async def list_direct_rooms(self) -> DirectRoomsResponse:
        await next_turn()  # another caller may start its own first read meanwhile
        return DirectRoomsResponse({ALICE: ["!old:localhost"]})

    async def send(self, method: str, path: str, data: str, headers: object) -> Any:
        await next_turn()
        self.puts.append(json.loads(data))
        return SimpleNamespace(release=lambda: None)


async def test_dms_recorded_at_once_are_all_kept() -> None:
    """Two DMs recorded at the same moment, before the map was ever read, both end up in the
    bot's m.direct, and the last write holds them all."""
    account = StubAccount()
    directs = DirectMap(cast(AsyncClient, account))
    await asyncio.gather(directs.record(ALICE, "!a:localhost"), directs.record(EVE, "!e:localhost"))
    assert await directs.rooms_for(ALICE) == ["!old:localhost", "!a:localhost"]
    assert await directs.rooms_for(EVE) == ["!e:localhost"]
    assert account.puts[-1] == {ALICE: ["!old:localhost", "!a:localhost"], EVE: ["!e:localhost"]}
