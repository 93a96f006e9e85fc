"""The planner and a feed's filter: held items are recorded with the rule that held them, and
an item waiting for its turn is judged again when the turn comes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.feeds.filters import FilterRules, Hold, ItemFilter
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.plan import ItemStatus, PollPolicy, overdue, plan_poll
from bot.storage.feeds import ItemRecord
from tests.feeds.test_plan_age import NOW, event, newsletter, paris

EVERYTHING = PollPolicy(filter=ItemFilter(frozenset(ItemKind)))


def filtered(**rules: Any) -> PollPolicy:
    """Every kind announced, with these filter rules."""
    return replace(EVERYTHING, filter=ItemFilter(frozenset(ItemKind), FilterRules(**rules)))


def waiting(item: FeedItem, categories: tuple[str, ...] = ()) -> ItemRecord:
    """An item stored earlier as waiting for an announcement slot."""
    return ItemRecord(
        1, 1, item.identity, str(item.kind), item.title, item.link, "", item.published, None,
        item.fingerprint, "deferred", NOW, 1, item.event, categories,
    )  # fmt: skip


def test_items_the_filter_holds_are_filtered_with_their_rule_and_the_rest_announced() -> None:
    """A webinar excluded by a title word is filtered, its hold kept; the workshop is announced."""
    batch = [
        event("webinaire-r", paris(10, 14)),
        event("atelier-quarto", paris(11, 14)),
    ]
    batch = [replace(batch[0], title="Webinaire R"), replace(batch[1], title="Atelier Quarto")]
    plan = plan_poll(
        batch, {}, [], first_poll=False, policy=filtered(without_words=("webinaire",)), now=NOW
    )
    statuses = {item.title: status for item, status in plan.new.values()}
    assert statuses == {"Webinaire R": ItemStatus.FILTERED, "Atelier Quarto": ItemStatus.ANNOUNCED}
    assert plan.holds == {batch[0].identity: Hold("word_excluded", "webinaire")}


def test_on_a_first_poll_held_items_are_still_marked_filtered() -> None:
    """Whatever the poll, what the filter holds says so, not "recorded silently"."""
    item = newsletter("n27", NOW)
    plan = plan_poll([item], {}, [], first_poll=True, policy=filtered(words=("quarto",)), now=NOW)
    assert plan.new[item.identity][1] is ItemStatus.FILTERED
    assert plan.holds[item.identity] == Hold("word_missing", "quarto")


def test_a_waiting_event_that_ended_meanwhile_is_past_when_its_turn_comes() -> None:
    """Deferred on Monday, an event of Tuesday is past on Wednesday's poll; one of Friday waits."""
    gone, coming = event("mardi", paris(1, 14)), event("vendredi", paris(4, 14))
    found = overdue([waiting(gone), waiting(coming)], EVERYTHING, NOW)
    assert found == {gone.identity: (ItemStatus.PAST_EVENT, None)}


def test_a_waiting_newsletter_past_the_age_limit_is_too_old_when_its_turn_comes() -> None:
    """A newsletter that waited (no room yet) beyond max_age_days is no longer announced."""
    old, recent = newsletter("n20", paris(1, month=11)), newsletter("n27", paris(1))
    found = overdue([waiting(old), waiting(recent)], EVERYTHING, NOW)
    assert found == {old.identity: (ItemStatus.TOO_OLD, None)}


def test_a_waiting_item_the_filter_now_holds_is_filtered_when_its_turn_comes() -> None:
    """Filters set while an item waits apply to it: its stored categories are read again."""
    item = event("funathon", paris(4, 14))
    policy = filtered(without_categories=("Funathon",))
    found = overdue([waiting(item, ("funathon", "Python"))], policy, NOW)
    assert found == {item.identity: (ItemStatus.FILTERED, Hold("category_excluded", "Funathon"))}
