"""Small persistent facts on every backend: the sync token, handled events, room upgrades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import state
from bot.storage.db import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_sync_token_is_absent_then_kept_then_replaced(db: Database) -> None:
    """The sync token reads None at first, then the last value written."""
    async with db.session() as session:
        assert await state.get_value(session, "sync_token") is None
        await state.set_value(session, "sync_token", "s1_100")
    async with db.session() as session:
        assert await state.get_value(session, "sync_token") == "s1_100"
        await state.set_value(session, "sync_token", "s1_200")
    async with db.session() as session:
        assert await state.get_value(session, "sync_token") == "s1_200"


async def test_an_event_is_claimed_once(db: Database) -> None:
    """The first claim of an event wins; later claims, in later units of work, are refused."""
    async with db.session() as session:
        assert not await state.was_handled(session, "$one")
        assert await state.claim_event(session, "$one", "!hub:localhost", NOW)
    async with db.session() as session:
        assert not await state.claim_event(session, "$one", "!hub:localhost", NOW)
        assert await state.was_handled(session, "$one")
        assert not await state.was_handled(session, "$two")


async def test_a_claim_in_the_same_unit_of_work_is_refused_the_second_time(db: Database) -> None:
    """Claiming an event twice inside one unit of work succeeds only once."""
    async with db.session() as session:
        assert await state.claim_event(session, "$one", "!hub:localhost", NOW)
        assert not await state.claim_event(session, "$one", "!hub:localhost", NOW)


async def test_a_claim_rolled_back_is_forgotten(db: Database) -> None:
    """When the unit of work fails, its claim goes with it and the event can be handled again."""
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await state.claim_event(session, "$one", "!hub:localhost", NOW)
            raise RuntimeError("the command failed")
    async with db.session() as session:
        assert not await state.was_handled(session, "$one")
        assert await state.claim_event(session, "$one", "!hub:localhost", NOW)


async def test_forgetting_handled_events_keeps_the_recent_ones(db: Database) -> None:
    """Pruning before a cutoff forgets the older events only."""
    async with db.session() as session:
        await state.claim_event(session, "$old", "!hub:localhost", NOW - timedelta(days=3))
        await state.claim_event(session, "$new", "!hub:localhost", NOW)
    async with db.session() as session:
        await state.forget_handled_before(session, NOW - timedelta(days=1))
    async with db.session() as session:
        assert not await state.was_handled(session, "$old")
        assert await state.was_handled(session, "$new")


async def test_a_room_upgraded_twice_resolves_to_the_newest_room(db: Database) -> None:
    """Messages for the first room follow both upgrades; rooms never upgraded stay as they are."""
    async with db.session() as session:
        await state.add_redirect(session, "!v1:localhost", "!v2:localhost", NOW)
    async with db.session() as session:
        await state.add_redirect(session, "!v2:localhost", "!v3:localhost", NOW)
    async with db.session() as session:
        assert await state.resolve_room(session, "!v1:localhost") == "!v3:localhost"
        assert await state.resolve_room(session, "!v2:localhost") == "!v3:localhost"
        assert await state.resolve_room(session, "!v3:localhost") == "!v3:localhost"
        assert await state.resolve_room(session, "!other:localhost") == "!other:localhost"
        assert state.follow(await state.redirects(session), "!v1:localhost") == "!v3:localhost"


async def test_a_redirect_written_again_points_to_the_new_target(db: Database) -> None:
    """Recording another upgrade of the same room replaces the old target."""
    async with db.session() as session:
        await state.add_redirect(session, "!v1:localhost", "!wrong:localhost", NOW)
    async with db.session() as session:
        await state.add_redirect(session, "!v1:localhost", "!v2:localhost", NOW)
    async with db.session() as session:
        assert await state.resolve_room(session, "!v1:localhost") == "!v2:localhost"


async def test_a_redirect_loop_does_not_hang(db: Database) -> None:
    """Two rooms redirecting to each other resolve to one of them instead of looping forever."""
    async with db.session() as session:
        await state.add_redirect(session, "!a:localhost", "!b:localhost", NOW)
        await state.add_redirect(session, "!b:localhost", "!a:localhost", NOW)
    async with db.session() as session:
        assert await state.resolve_room(session, "!a:localhost") in {"!a:localhost", "!b:localhost"}
