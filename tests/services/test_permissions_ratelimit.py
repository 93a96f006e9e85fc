"""Who is an organiser, and how many commands a member may send: pure rules, fake clock."""

from __future__ import annotations

import pytest

from bot.services.permissions import Permissions, creators_are_privileged
from bot.services.ratelimit import RateLimiter
from tests.fakes import FakeClock, FixedRooms

HUB = "!hub:localhost"
SALON = "!salon:localhost"
ALICE = "@alice:localhost"


class FakeRoomPowers:
    """Power levels, room versions and creators; counts how often creators are fetched."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], int] = {}
        self.versions: dict[str, str] = {}
        self.creators: dict[str, set[str]] = {}
        self.creator_lookups = 0

    def power_level(self, room_id: str, user_id: str) -> int | None:
        return self.levels.get((room_id, user_id))

    def room_version(self, room_id: str) -> str | None:
        return self.versions.get(room_id)

    async def room_creators(self, room_id: str) -> set[str]:
        self.creator_lookups += 1
        return self.creators.get(room_id, set())


def permissions(powers: FakeRoomPowers, organisers: tuple[str, ...] = ()) -> Permissions:
    return Permissions(organisers, FixedRooms((HUB, SALON)), powers, threshold=50)


@pytest.mark.parametrize(
    ("version", "privileged"),
    [
        ("12", True),
        ("13", True),
        ("org.matrix.hydra.11", True),
        ("11", False),
        ("1", False),
        ("org.matrix.msc2176", False),
        (None, False),
    ],
)
def test_creators_are_privileged_from_room_version_12(
    version: str | None, privileged: bool
) -> None:
    """Creators have unlimited power in room version 12 and later, and in the hydra preview."""
    assert creators_are_privileged(version) is privileged


async def test_configured_organiser_is_an_organiser_without_any_power() -> None:
    """A user listed in the configuration is an organiser even with no power anywhere."""
    assert await permissions(FakeRoomPowers(), organisers=(ALICE,)).is_organiser(ALICE)


@pytest.mark.parametrize(("level", "organiser"), [(49, False), (50, True), (100, True)])
async def test_power_threshold_in_any_hub_room(level: int, organiser: bool) -> None:
    """Power at the threshold in any one of the hub's rooms makes an organiser."""
    powers = FakeRoomPowers()
    powers.levels[(SALON, ALICE)] = level
    assert await permissions(powers).is_organiser(ALICE) is organiser


async def test_power_outside_the_hub_rooms_does_not_count() -> None:
    """Being admin of a room the hub does not list gives nothing."""
    powers = FakeRoomPowers()
    powers.levels[("!ailleurs:localhost", ALICE)] = 100
    assert not await permissions(powers).is_organiser(ALICE)


async def test_creator_of_a_version_12_room_is_an_organiser_and_looked_up_once() -> None:
    """A v12 room's creator is an organiser; the creators are fetched once per room."""
    powers = FakeRoomPowers()
    powers.versions[HUB] = "12"
    powers.creators[HUB] = {ALICE}
    checker = permissions(powers)
    assert await checker.is_organiser(ALICE)
    assert await checker.is_organiser(ALICE)
    assert not await checker.is_organiser("@bob:localhost")
    assert powers.creator_lookups == 1


async def test_creator_of_an_older_room_is_not_an_organiser() -> None:
    """Before version 12 a creator needs power like anyone else."""
    powers = FakeRoomPowers()
    powers.versions[HUB] = "11"
    powers.creators[HUB] = {ALICE}
    assert not await permissions(powers).is_organiser(ALICE)


def test_rate_limiter_allows_the_burst_then_refuses() -> None:
    """A member may run ``burst`` commands at once and not one more."""
    limiter = RateLimiter(FakeClock(), burst=3, per_seconds=30)
    assert [limiter.take(ALICE) for _ in range(4)] == [True, True, True, False]


def test_rate_limiter_refills_evenly_over_the_period() -> None:
    """One token comes back every per_seconds / burst seconds, never above the burst."""
    clock = FakeClock()
    limiter = RateLimiter(clock, burst=3, per_seconds=30)
    for _ in range(3):
        limiter.take(ALICE)
    assert limiter.retry_after(ALICE) == pytest.approx(10.0)
    clock.advance(9.9)
    assert not limiter.take(ALICE)
    clock.advance(0.1)
    assert limiter.take(ALICE)
    clock.advance(3600)
    assert [limiter.take(ALICE) for _ in range(4)] == [True, True, True, False]


def test_rate_limiter_warns_once_per_emptied_bucket() -> None:
    """The limited member is warned once; after a served command, a new exhaustion warns again."""
    clock = FakeClock()
    limiter = RateLimiter(clock, burst=1, per_seconds=10)
    assert limiter.take(ALICE)
    assert not limiter.take(ALICE)
    assert limiter.should_warn(ALICE)
    assert not limiter.should_warn(ALICE)
    clock.advance(10)
    assert limiter.take(ALICE)
    assert not limiter.take(ALICE)
    assert limiter.should_warn(ALICE)


def test_rate_limiter_keeps_one_bucket_per_member() -> None:
    """One member's empty bucket leaves the others untouched."""
    limiter = RateLimiter(FakeClock(), burst=1, per_seconds=10)
    assert limiter.take(ALICE)
    assert not limiter.take(ALICE)
    assert limiter.take("@bob:localhost")
