"""Announcements of feed items: templates filled in, dates in words (Paris time), safe HTML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot import markup
from bot.config import AnnouncementsConfig
from bot.feeds.eventtime import EventTime
from bot.i18n import Catalogue
from bot.messages import Mentions, Message, ReplyTo
from bot.services.dates import LOCALES, Dates
from bot.storage.feeds import ItemRecord

__all__ = ["LOCALES", "Announcer", "Dates", "item_data", "safe_link"]

DATA_ITEM = "feed_item"
MAX_LINK_CHARS = 2048  # a longer link is hostile or broken: it is not shown


def safe_link(link: str | None) -> str | None:
    """The link when it is a reasonable http(s) URL, else None."""
    if not link or len(link) > MAX_LINK_CHARS:
        return None
    return link if urlsplit(link).scheme in ("http", "https") else None


class Announcer:
    """Writes the messages about feed items; posting them is the caller's business."""

    def __init__(self, config: AnnouncementsConfig, t: Catalogue, tz: ZoneInfo) -> None:
        self.config = config
        self.t = t
        self.dates = Dates(t, tz)

    def announcement(
        self,
        item: ItemRecord,
        room_id: str,
        *,
        feed: str,
        replaces: str | None = None,
        templates: Mapping[str, str] | None = None,
    ) -> Message:
        """The announcement of ``item`` (or, with ``replaces``, an edit of an earlier one);
        ``templates`` are the feed's own, by kind, before the configured ones."""
        values = self._values(item, feed)
        lines = [self.headline(item, values, templates or {})]
        if values["place"]:
            lines.append(self.t("announce.place", place=values["place"]))
        lines += [text for text in (item.summary, values["link"]) if text]
        return Message(
            room_id=room_id,
            text="\n".join(lines),
            html=markup.paragraphs(lines, values["link"]),
            mentions=Mentions(),
            data={DATA_ITEM: item_data(item)},
            replaces=replaces,
        )

    def headline(
        self, item: ItemRecord, values: dict[str, Any], templates: Mapping[str, str]
    ) -> str:
        """The first line: the feed's template for the item's kind, else the configured one,
        else the catalogue's."""
        key = template_key(item)
        chosen: str | None = templates.get(key) or getattr(self.config.templates, key)
        if chosen is not None:
            return chosen.format_map(values)
        return self.t(f"announce.{key}", **values)

    def _values(self, item: ItemRecord, feed: str) -> dict[str, Any]:
        event = item.event
        return {
            "title": item.title,
            "number": "" if item.newsletter_number is None else item.newsletter_number,
            "when": self.dates.when(event) if event else "",
            "place": (event.place or "") if event else "",
            "summary": item.summary,
            "link": safe_link(item.link) or "",
            "feed": feed,
        }

    def date_changed(self, item: ItemRecord, room_id: str, original: str) -> Message:
        """A short notice, in reply to the announcement, that the event moved."""
        when = self.dates.when(item.event) if item.event else ""
        text = self.t("announce.date_changed", title=item.title, when=when)
        return Message(
            room_id,
            text,
            markup.lines(text),
            ReplyTo(original),
            Mentions(),
            {DATA_ITEM: item_data(item)},
        )

    def flood_notice(
        self, room_id: str, *, feed: str, new: int, total: int, newest: str | None
    ) -> Message:
        """The one notice telling organisers that a feed looked all new and was held."""
        text = self.t("announce.flood", feed=feed, new=new, total=total)
        if newest:
            text += " " + self.t("announce.flood_newest", title=newest)
        return Message(room_id, text, markup.lines(text), mentions=Mentions())


def template_key(item: ItemRecord) -> str:
    """Which template announces ``item``: its kind's, with two cases of their own (a
    newsletter without a number, an event without a known time)."""
    key = item.kind if item.kind in ("newsletter", "event", "post", "project") else "other"
    if key == "newsletter" and item.newsletter_number is None:
        return "newsletter_unnumbered"
    if key == "event" and item.event is None:
        return "other"
    return key


def item_data(item: ItemRecord) -> dict[str, Any]:
    """The item as data, for clients and bots reading the event content."""
    event = item.event
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "link": safe_link(item.link),
        "published": item.published.isoformat() if item.published else None,
        "number": item.newsletter_number,
        "event": None if event is None else _event_data(event),
    }


def _event_data(event: EventTime) -> dict[str, Any]:
    return {
        "start": event.start.isoformat(),
        "end": event.end.isoformat() if event.end else None,
        "all_day": event.all_day,
        "time_known": event.time_known,
        "place": event.place,
    }
