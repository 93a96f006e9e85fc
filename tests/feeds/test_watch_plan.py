"""Planning a poll without I/O, and the preview CLI that shows a plan without a homeserver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SystemClock
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.plan import ItemStatus, Known, PollPolicy, is_flood, oldest_first, plan_poll
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, redate, with_items

DAY = datetime(2026, 3, 2, tzinfo=UTC)
POLICY = PollPolicy()
NOW = DAY  # every item below is dated after it: none is old


def item(n: int, kind: ItemKind = ItemKind.NEWSLETTER, fingerprint: str = "") -> FeedItem:
    """Item ``n``, published ``n`` days after DAY (a bigger n is newer)."""
    link = f"https://ssphub.netlify.app/x/{n}"
    published = DAY + timedelta(days=n)
    return FeedItem(
        link, kind, f"Item {n}", link, "", published, None, None, None, fingerprint or f"f{n}"
    )


def known(*numbers: int) -> dict[str, Known]:
    found = [item(n) for n in numbers]
    return {i.identity: Known(i.identity, i.fingerprint, i.kind, i.published) for i in found}


def statuses(plan_new: dict[str, tuple[FeedItem, ItemStatus]]) -> dict[str, str]:
    return {found.title: status.value for found, status in plan_new.values()}


def test_new_items_are_announced_oldest_first_up_to_the_cap() -> None:
    """Seven new items with a cap of 5: the five oldest now, the two newest deferred."""
    batch = [item(n) for n in range(30, 10, -1)]  # newest first, like the hub's feeds
    plan = plan_poll(batch, known(*range(11, 24)), [], first_poll=False, policy=POLICY, now=NOW)
    assert [batch_item.title for batch_item in oldest_first(batch)][:2] == ["Item 11", "Item 12"]
    assert plan.announce == [item(n).identity for n in range(24, 29)]
    assert statuses(plan.new) == {
        **{f"Item {n}": "announced" for n in range(24, 29)},
        "Item 29": "deferred",
        "Item 30": "deferred",
    }
    assert plan.waiting == 2


def test_deferred_items_go_before_new_ones() -> None:
    """Items deferred by an earlier poll take the first slots."""
    plan = plan_poll(
        [item(5), item(4)],
        known(4),
        ["earlier"],
        first_poll=False,
        policy=PollPolicy(max_per_poll=1),
        now=NOW,
    )
    assert (plan.announce, plan.waiting) == (["earlier"], 1)


def test_first_poll_records_silently_or_announces_the_latest() -> None:
    """A first poll announces nothing, or the newest N wanted items with announce_latest."""
    batch = [item(3, ItemKind.PROJECT), item(2), item(1)]
    silent = plan_poll(batch, {}, [], first_poll=True, policy=POLICY, now=NOW)
    assert silent.announce == [] and statuses(silent.new) == {
        "Item 3": "filtered", "Item 2": "recorded_silently", "Item 1": "recorded_silently",
    }  # fmt: skip
    latest = plan_poll(
        batch, {}, [], first_poll=True, policy=PollPolicy(announce_latest=1), now=NOW
    )
    assert latest.announce == [item(2).identity]


@pytest.mark.parametrize(
    ("new", "batch", "flood"),
    [(1, 1, False), (2, 20, False), (10, 20, False), (11, 20, True), (2, 3, False), (4, 4, False),
     (5, 9, True), (5, 10, False), (20, 20, True)],
)  # fmt: skip
def test_flood_means_more_than_the_share_and_at_least_the_floor(
    new: int, batch: int, flood: bool
) -> None:
    """Over half of the batch and at least five items new at once trip the breaker."""
    assert is_flood(new, batch, POLICY) is flood


@pytest.mark.parametrize(("floor", "flood"), [(2, True), (3, False)])
def test_the_flood_floor_is_configurable_but_never_below_two(floor: int, flood: bool) -> None:
    """With flood_min_items 2, two new items of three trip the breaker; one alone never does."""
    policy = PollPolicy(flood_min_items=floor)
    assert is_flood(2, 3, policy) is flood
    assert not is_flood(1, 1, PollPolicy(flood_min_items=1))


def test_breaker_holds_everything_but_the_newest_wanted_item() -> None:
    """In a flood, the newest newsletter is announced and the others are held or filtered."""
    batch = [item(9, ItemKind.POST), item(8), item(7), item(6), item(5)]
    plan = plan_poll(batch, {}, [], first_poll=False, policy=POLICY, now=NOW)
    assert plan.flood and plan.announce == [item(8).identity]
    assert statuses(plan.new) == {
        "Item 9": "filtered", "Item 8": "announced", "Item 7": "held_by_breaker",
        "Item 6": "held_by_breaker", "Item 5": "held_by_breaker",
    }  # fmt: skip


def test_edits_and_repeats_are_not_new() -> None:
    """A known item with another fingerprint is an edit; a repeated identity counts once."""
    batch = [item(2, fingerprint="changed"), item(1), item(1)]
    plan = plan_poll(batch, known(1, 2), [], first_poll=False, policy=POLICY, now=NOW)
    assert (plan.new, [e.title for e in plan.edited], plan.batch) == ({}, ["Item 2"], 2)


def test_without_slots_everything_wanted_waits() -> None:
    """With no room to announce to, new wanted items are deferred, never lost."""
    plan = plan_poll(
        [item(2), item(1)], known(1), [], first_poll=False, policy=POLICY, now=NOW, slots=0
    )
    assert (plan.announce, statuses(plan.new)) == ([], {"Item 2": "deferred"})


def test_preview_cli_prints_items_and_messages_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`feeds preview FILE` lists every item with its verdict as of today, and the messages."""
    home = load_feed("index").decode()
    blocks = items(home)
    today = format_datetime(SystemClock().now().replace(hour=0, minute=0, second=0), usegmt=True)
    feed = tmp_path / "index.xml"
    feed.write_text(with_items(home, [redate(blocks[0], today), *blocks[1:]]))
    assert main(["feeds", "preview", str(feed)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Aperçu de {feed} : 20 éléments. Rien n’est envoyé.")
    assert "• [projet] " in out
    assert "non annoncé (ce flux n’annonce pas les éléments de type projet)" in out
    assert "    identity:  https://ssphub.netlify.app/infolettre/infolettre_26" in out
    assert "• [événement] Troisième journée du SSPHub — non annoncé (événement déjà passé)" in out
    assert "• [infolettre] Des agents en folie — non annoncé (plus ancien que la limite" in out
    messages = out.split("Messages qui seraient envoyés :")[1]
    assert messages.count("📰") == 1 and "📅" not in messages
    assert "📰 Nouvelle infolettre n°26 — Le prix de statistiques indépendantes" in messages


def test_preview_cli_reports_an_unreadable_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a feed gives a short error and exit status 1."""
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00<<< not a feed")
    assert main(["feeds", "preview", str(bad)]) == 1
    assert "cannot read the feed" in capsys.readouterr().err
