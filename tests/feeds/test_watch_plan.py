"""Planning a poll without I/O, and the preview CLI that shows a plan without a homeserver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.plan import ItemStatus, Known, PollPolicy, is_flood, oldest_first, plan_poll

DAY = datetime(2026, 3, 2, tzinfo=UTC)
POLICY = PollPolicy()


def item(n: int, kind: ItemKind = ItemKind.NEWSLETTER, fingerprint: str = "") -> FeedItem:
    """Item ``n``, published ``n`` days after DAY (a bigger n is newer)."""
    link = f"https://ssphub.netlify.app/x/{n}"
    published = DAY + timedelta(days=n)
    return FeedItem(
        link, kind, f"Item {n}", link, "", published, None, None, None, fingerprint or f"f{n}"
    )


def known(*numbers: int) -> dict[str, Known]:
    return {item(n).identity: Known(item(n).identity, f"f{n}") for n in numbers}


def statuses(plan_new: dict[str, tuple[FeedItem, ItemStatus]]) -> dict[str, str]:
    return {found.title: status.value for found, status in plan_new.values()}


def test_new_items_are_announced_oldest_first_up_to_the_cap() -> None:
    """Seven new items with a cap of 5: the five oldest now, the two newest deferred."""
    batch = [item(n) for n in range(30, 10, -1)]  # newest first, like the hub's feeds
    plan = plan_poll(batch, known(*range(11, 24)), [], first_poll=False, policy=POLICY)
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
    )
    assert (plan.announce, plan.waiting) == (["earlier"], 1)


def test_first_poll_records_silently_or_announces_the_latest() -> None:
    """A first poll announces nothing, or the newest N wanted items with announce_latest."""
    batch = [item(3, ItemKind.PROJECT), item(2), item(1)]
    silent = plan_poll(batch, {}, [], first_poll=True, policy=POLICY)
    assert silent.announce == [] and statuses(silent.new) == {
        "Item 3": "filtered", "Item 2": "recorded_silently", "Item 1": "recorded_silently",
    }  # fmt: skip
    latest = plan_poll(batch, {}, [], first_poll=True, policy=PollPolicy(announce_latest=1))
    assert latest.announce == [item(2).identity]


@pytest.mark.parametrize(
    ("new", "batch", "flood"), [(1, 1, False), (2, 20, False), (10, 20, False), (11, 20, True)]
)
def test_flood_means_more_than_the_share_and_more_than_one(
    new: int, batch: int, flood: bool
) -> None:
    """Over half of the batch new at once trips the breaker; a single new item never does."""
    assert is_flood(new, batch, POLICY) is flood


def test_breaker_holds_everything_but_the_newest_wanted_item() -> None:
    """In a flood, the newest newsletter is announced and the others are held or filtered."""
    batch = [item(9, ItemKind.POST), item(8), item(7), item(6)]
    plan = plan_poll(batch, {}, [], first_poll=False, policy=POLICY)
    assert plan.flood and plan.announce == [item(8).identity]
    assert statuses(plan.new) == {
        "Item 9": "filtered", "Item 8": "announced", "Item 7": "held_by_breaker",
        "Item 6": "held_by_breaker",
    }  # fmt: skip


def test_edits_and_repeats_are_not_new() -> None:
    """A known item with another fingerprint is an edit; a repeated identity counts once."""
    batch = [item(2, fingerprint="changed"), item(1), item(1)]
    plan = plan_poll(batch, known(1, 2), [], first_poll=False, policy=POLICY)
    assert (plan.new, [e.title for e in plan.edited], plan.batch) == ({}, ["Item 2"], 2)


def test_without_slots_everything_wanted_waits() -> None:
    """With no room to announce to, new wanted items are deferred, never lost."""
    plan = plan_poll([item(2), item(1)], known(1), [], first_poll=False, policy=POLICY, slots=0)
    assert (plan.announce, statuses(plan.new)) == ([], {"Item 2": "deferred"})


def test_preview_cli_prints_items_and_messages_from_a_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`feeds preview FILE` lists every item with its verdict and the messages, offline."""
    feed = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "feeds" / "index.xml"
    assert main(["feeds", "preview", str(feed)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Aperçu de {feed} : 20 éléments. Rien n’est envoyé.")
    assert "• [projet] " in out and "non annoncé (ce flux n’annonce pas ce type)" in out
    assert "    identity:  https://ssphub.netlify.app/infolettre/infolettre_26" in out
    assert "Messages qui seraient envoyés :" in out
    assert "📰 Nouvelle infolettre n°26 — Le prix de statistiques indépendantes" in out


def test_preview_cli_reports_an_unreadable_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a feed gives a short error and exit status 1."""
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00<<< not a feed")
    assert main(["feeds", "preview", str(bad)]) == 1
    assert "cannot read the feed" in capsys.readouterr().err
