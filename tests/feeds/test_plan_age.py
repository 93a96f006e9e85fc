"""The planner never announces the past: past events, items older than the feed, too old ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds.eventtime import EventTime
from bot.feeds.filters import ItemFilter
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.plan import ItemStatus, Known, PollPolicy, plan_poll

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # Wednesday 2 December 2026, 15:00 in Paris
POLICY = PollPolicy()


def newsletter(
    name: str, published: datetime | None, kind: ItemKind = ItemKind.NEWSLETTER
) -> FeedItem:
    """A dated item of ``kind`` (a newsletter unless told) named ``name``."""
    link = f"https://ssphub.netlify.app/{kind}/{name}/"
    return FeedItem(link, kind, name, link, "", published, None, None, link, name)


def event(
    name: str, start: datetime, end: datetime | None = None, *, all_day: bool = False
) -> FeedItem:
    """An event of the hub: published on its day, which ``start`` gives."""
    link = f"https://ssphub.netlify.app/event/{name}/"
    when = EventTime(start, end, all_day, not all_day, None)
    return FeedItem(link, ItemKind.EVENT, name, link, "", start, None, when, link, name)


def as_known(*found: FeedItem) -> dict[str, Known]:
    return {i.identity: Known(i.identity, i.fingerprint, i.kind, i.published) for i in found}


def verdicts(
    batch: list[FeedItem], known: dict[str, Known] | None = None, policy: PollPolicy = POLICY
) -> dict[str, str]:
    """Each new item's status after a (not first) poll at NOW."""
    plan = plan_poll(batch, known or {}, [], first_poll=False, policy=policy, now=NOW)
    return {item.title: status.value for item, status in plan.new.values()}


def paris(day: int, hour: int = 0, month: int = 12) -> datetime:
    """That day of 2026 at that hour in Paris (UTC+1 in winter), as UTC."""
    return datetime(2026, month, day, hour, tzinfo=UTC) - timedelta(hours=1)


def test_an_event_already_over_is_recorded_as_past_and_one_of_today_is_announced() -> None:
    """Yesterday's event is past; this morning's still counts: the same day is current."""
    found = verdicts([event("hier", paris(1, 14)), event("ce-matin", paris(2, 9), paris(2, 10))])
    assert found == {"hier": "past_event", "ce-matin": "announced"}


def test_a_multi_day_event_counts_until_its_last_day() -> None:
    """An event from Monday to Wednesday is current on Wednesday, past on Thursday's poll."""
    days = event("trois-jours", paris(30, month=11), paris(3), all_day=True)  # end exclusive
    assert verdicts([days]) == {"trois-jours": "announced"}
    over = event("fini-hier", paris(29, month=11), paris(2), all_day=True)
    assert verdicts([over]) == {"fini-hier": "past_event"}


def test_days_turn_at_paris_midnight() -> None:
    """At 00:30 in Paris (23:30 UTC the day before), the previous Paris day is over."""
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    plan = plan_poll(
        [event("mercredi", paris(2, 18))], {}, [], first_poll=False, policy=POLICY, now=late
    )
    assert [status for _, status in plan.new.values()] == [ItemStatus.PAST_EVENT]


def test_events_published_ahead_stay_new_whatever_their_order() -> None:
    """A coming event dated before events already known (published months ahead) is new."""
    known = as_known(event("juin", datetime(2027, 6, 16, tzinfo=UTC)))
    soon = event("janvier", datetime(2027, 1, 13, tzinfo=UTC))
    assert verdicts([soon], known) == {"janvier": "announced"}


def test_an_item_dated_before_the_newest_known_of_its_kind_is_old() -> None:
    """A newsletter back in the window is old; another of the newest's day, or a post, is not."""
    known = as_known(newsletter("n27", paris(1)), newsletter("n26", paris(20, month=11)))
    batch = [
        newsletter("n25", paris(30, month=11)),
        newsletter("n27-bis", paris(1, 20)),
        newsletter("billet", paris(30, month=11), ItemKind.POST),
    ]
    policy = PollPolicy(filter=ItemFilter(frozenset(ItemKind)))
    assert verdicts(batch, known, policy) == {
        "n25": "older_than_newest", "n27-bis": "announced", "billet": "announced",
    }  # fmt: skip


def test_a_known_item_dated_in_the_future_does_not_silence_the_feed() -> None:
    """A newsletter mistyped as 2036 counts as today's: tomorrow's newsletter is still new."""
    known = as_known(newsletter("faute", datetime(2036, 1, 1, tzinfo=UTC)))
    assert verdicts([newsletter("n28", paris(2, 8))], known) == {"n28": "announced"}


@pytest.mark.parametrize(
    ("days", "limit", "status"),
    [(14, 14, "announced"), (15, 14, "too_old"), (3, 2, "too_old"), (400, None, "announced")],
)
def test_anything_older_than_max_age_days_is_old(days: int, limit: int | None, status: str) -> None:
    """An item dated more than max_age_days before today is too old; None lifts the limit."""
    stale = newsletter("vieux", paris(2) - timedelta(days=days))
    assert verdicts([stale], policy=PollPolicy(max_age_days=limit)) == {"vieux": status}


def test_an_undated_item_is_never_judged_old() -> None:
    """Without a date, nothing says an item is old: it is announced."""
    assert verdicts([newsletter("sans-date", None)]) == {"sans-date": "announced"}


def test_a_kind_not_announced_stays_filtered_even_when_old() -> None:
    """The kind filter speaks first: an old project is filtered, not old."""
    project = newsletter("projet", paris(1, month=1), ItemKind.PROJECT)
    assert verdicts([project]) == {"projet": "filtered"}


def test_in_a_flood_old_items_keep_their_reason_and_the_newest_current_one_is_announced() -> None:
    """Six new identities: the past events are past, the newest coming one announced."""
    batch = [
        event("a-venir-2", paris(20)), event("a-venir-1", paris(10)),
        *(event(f"passe-{n}", paris(n, month=10)) for n in range(1, 5)),
    ]  # fmt: skip
    plan = plan_poll(batch, {}, [], first_poll=False, policy=POLICY, now=NOW)
    assert plan.flood and plan.announce == [batch[0].identity] and (plan.held, plan.old) == (1, 4)


def test_a_first_poll_announcing_the_latest_skips_old_items() -> None:
    """announce_latest takes the newest items that are not old; old ones are only recorded."""
    batch = [event("passe", paris(1)), newsletter("n27", paris(1, month=1))]
    policy = PollPolicy(announce_latest=1)
    plan = plan_poll(batch, {}, [], first_poll=True, policy=policy, now=NOW)
    assert plan.announce == [] and plan.old == 0  # the first poll's own reason is kept
    coming = event("a-venir", paris(9))
    later = plan_poll([coming, *batch], {}, [], first_poll=True, policy=policy, now=NOW)
    assert later.announce == [coming.identity]


def test_two_new_items_in_a_three_item_feed_are_both_announced() -> None:
    """Two genuinely new newsletters of three trip no breaker: both are announced."""
    n25 = newsletter("n25", paris(20, month=11))
    batch = [newsletter("n27", paris(2)), newsletter("n26", paris(1)), n25]
    plan = plan_poll(batch, as_known(n25), [], first_poll=False, policy=POLICY, now=NOW)
    assert not plan.flood and plan.announce == [batch[1].identity, batch[0].identity]
