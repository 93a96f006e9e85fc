"""The hub's real feeds before and after the site's 2026-05 restructuring, and new newsletters."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime

from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, redate, retitle, with_items

EVENTS = load_feed("event").decode()
NEWSLETTERS = load_feed("infolettre").decode()

# Back in the new event feed's 20-item window after the restructuring, announced as new in 2026
# before the bot knew better. By date the fourth oldest event of the file is the Observable talk
# (16 November 2022), not the closing event of December 2022: OLDEST_EVENTS holds that variant.
RETURNED_EVENTS = (
    "Funathon de juin 2021",
    "Funathon de juin 2022",
    "Evénement de clôture de la saison 1 du programme 10%",
    "Séminaire - la méthodologie des appariements",
)
OLDEST_EVENTS = (
    *RETURNED_EVENTS[:2],
    "Présentation d’Observable par Nicolas Lambert",
    RETURNED_EVENTS[3],
)
# The newsletter listing's two oldest entries (n°8 and the archive page), as a window change of
# the newsletter feed would bring them back.
RETURNED_NEWSLETTERS = (
    "L’année 2022 dans le monde de la data science",
    "Archive des infolettres et lettres Big Data",
)


def without(xml: str, titles: tuple[str, ...]) -> str:
    """The feed without the items whose title starts with one of ``titles``."""
    kept = [block for block in items(xml) if not _title(block).startswith(titles)]
    assert len(kept) == len(items(xml)) - len(titles), "every title names one item"
    return with_items(xml, kept)


def old_event_feed(dropped: tuple[str, ...] = RETURNED_EVENTS) -> str:
    """event.xml as the site emitted it before 2026-05: links under /talk/, four items fewer."""
    return without(EVENTS, dropped).replace("ssphub.netlify.app/event/", "ssphub.netlify.app/talk/")


def old_newsletter_feed() -> str:
    """infolettre.xml with a window that had not reached its two oldest entries yet."""
    return without(NEWSLETTERS, RETURNED_NEWSLETTERS)


def with_newsletter(xml: str, number: int, published: datetime, title: str) -> str:
    """The newsletter feed with newsletter ``number`` published on top, capped at 20 items."""
    blocks = items(xml)
    fresh = re.sub(r"infolettre_\d+", f"infolettre_{number}", blocks[0])
    fresh = redate(retitle(fresh, title), format_datetime(published, usegmt=True))
    return with_items(xml, [fresh, *blocks][:20])


def _title(block: str) -> str:
    found = re.search(r"<title>(.*?)</title>", block, re.DOTALL)
    return found.group(1).strip() if found else ""
