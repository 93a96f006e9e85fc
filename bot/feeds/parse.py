"""Feed bytes -> ParsedFeed with feedparser (RSS 2.0 and Atom), never touching the network."""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.errors import FeedParseError
from bot.untrusted import clean_text

BOZO_CHARS = 200
# Without a Content-Type feedparser flags every feed as bozo; XML lets the prolog name the charset.
DEFAULT_CONTENT_TYPE = "application/xml"


@dataclass(frozen=True)
class RawEntry:
    """One entry as the feed gives it, before identity, kind and dates are worked out."""

    guid: str | None
    link: str | None
    title: str | None
    description_html: str
    published: datetime | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: channel title and link, usable entries, and why it was malformed if it was."""

    title: str | None
    link: str | None
    entries: list[RawEntry]
    bozo: str | None


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a fetched body; a malformed feed is kept when it still has usable entries."""
    import feedparser  # where first used: not needed to start, nor to answer commands

    headers = {"content-location": url, "content-type": content_type or DEFAULT_CONTENT_TYPE}
    # A bare bytes value would be tried as a file name by feedparser: always hand it a stream.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = [entry for entry in map(_raw_entry, result.entries) if _usable(entry)]
    bozo = _bozo_reason(result)
    if not entries and (bozo is not None or not result.get("version")):
        raise FeedParseError(bozo or "no feed found in the body")
    channel = result.feed
    return ParsedFeed(_text(channel.get("title")), _text(channel.get("link")), entries, bozo)


def _raw_entry(entry: Mapping[str, Any]) -> RawEntry:
    """Read the fields the bot uses from one feedparser entry."""
    return RawEntry(
        guid=_text(entry.get("id")),
        link=_text(entry.get("link")),
        title=_text(entry.get("title")),
        description_html=_description(entry),
        published=_published(entry),
        categories=tuple(
            clean_text(str(tag["term"])) for tag in entry.get("tags", ()) if tag.get("term")
        ),
    )


def _usable(entry: RawEntry) -> bool:
    """An entry is usable when something identifies it or can be shown."""
    return any((entry.guid, entry.link, entry.title))


def _description(entry: Mapping[str, Any]) -> str:
    """The entry's summary, else its first content block (Atom), else nothing."""
    summary = entry.get("summary")
    if summary:
        return clean_text(str(summary))
    contents = entry.get("content") or ()
    return clean_text(str(contents[0].get("value", ""))) if contents else ""


def _published(entry: Mapping[str, Any]) -> datetime | None:
    """Publication (else update) time as an aware UTC datetime; None when absent or absurd."""
    parsed: time.struct_time | None = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed is None:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _bozo_reason(result: Mapping[str, Any]) -> str | None:
    """feedparser's complaint about a malformed feed, short, or None for a well-formed one."""
    if not result.get("bozo"):
        return None
    error = result.get("bozo_exception")
    reason = f"{type(error).__name__}: {error}" if error is not None else "malformed feed"
    return reason[:BOZO_CHARS]


def _text(value: object) -> str | None:
    """A stripped string without control characters, or None when empty or absent."""
    if value is None:
        return None
    text = clean_text(str(value)).strip()
    return text or None
