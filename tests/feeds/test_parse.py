"""Parsing feed bytes: the hub's real RSS, Atom, malformed-but-usable and garbage bodies."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import FeedParseError
from bot.feeds.parse import parse_feed

from .conftest import HUB

REAL_COUNTS = {"infolettre": 20, "event": 20, "index": 20, "blog": 11}

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Hub</title><link href="https://ssphub.netlify.app/"/><id>urn:hub</id>
  <updated>2026-01-02T10:00:00Z</updated>
  <entry>
    <title>Un billet</title><link href="https://ssphub.netlify.app/blog/a/"/>
    <id>urn:uuid:0b7f</id><updated>2026-01-02T10:00:00+01:00</updated>
    <content type="html">&lt;p&gt;Bonjour&lt;/p&gt;</content><category term="R"/>
  </entry>
</feed>"""


@pytest.mark.parametrize(("name", "count"), REAL_COUNTS.items())
def test_real_feeds_parse_with_all_their_entries(
    fixture_feed: Callable[[str], bytes], name: str, count: int
) -> None:
    """Each of the hub's four feeds parses cleanly with every one of its items."""
    feed = parse_feed(fixture_feed(name), url=f"{HUB}/{name}.xml")
    assert (len(feed.entries), feed.bozo, feed.title) == (count, None, "SSPHub")


def test_rss_entry_fields_are_read(fixture_feed: Callable[[str], bytes]) -> None:
    """An RSS item gives guid, link, title, HTML description, UTC date and categories."""
    entry = parse_feed(fixture_feed("event"), url=f"{HUB}/event.xml").entries[0]
    assert entry.guid == entry.link == f"{HUB}/event/2026-06-jdos/"
    assert entry.title == "Journées data science & open-source"
    assert entry.description_html.lstrip().startswith("<p>L’Insee organise")
    assert entry.published == datetime(2026, 6, 16, tzinfo=UTC)
    assert entry.categories == ("network", "event")


def test_atom_feed_is_parsed() -> None:
    """An Atom entry's id, link, content and offset date (converted to UTC) are read."""
    feed = parse_feed(ATOM, url=f"{HUB}/atom.xml")
    entry = feed.entries[0]
    assert (feed.title, entry.guid, entry.link) == ("Hub", "urn:uuid:0b7f", f"{HUB}/blog/a/")
    assert entry.description_html == "<p>Bonjour</p>"
    assert entry.published == datetime(2026, 1, 2, 9, tzinfo=UTC)


def test_malformed_feed_with_usable_entries_is_used(fixture_feed: Callable[[str], bytes]) -> None:
    """An unescaped "&" in a title makes the feed bozo, yet its entries are kept and the reason
    recorded."""
    body = fixture_feed("infolettre").replace(b"Des agents en folie", b"Des agents & folie")
    feed = parse_feed(body, url=f"{HUB}/infolettre/infolettre.xml")
    assert feed.bozo is not None and "SAXParseException" in feed.bozo
    assert len(feed.entries) == 20
    assert feed.entries[1].title == "Des agents & folie"


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage \x00\xff\xfe not a feed", b"<html><body><p>Bonjour</p></body></html>"],
)
def test_garbage_raises(body: bytes) -> None:
    """A body with no feed in it raises FeedParseError."""
    with pytest.raises(FeedParseError):
        parse_feed(body, url=f"{HUB}/index.xml")


def test_body_naming_a_local_file_is_not_read_as_a_path(
    tmp_path: Path, fixture_feed: Callable[[str], bytes]
) -> None:
    """A body that happens to be a file's name is parsed as bytes, never opened from disk."""
    path = tmp_path / "feed.xml"
    path.write_bytes(fixture_feed("blog"))
    with pytest.raises(FeedParseError):
        parse_feed(str(path).encode(), url=f"{HUB}/index.xml")


def test_valid_empty_feed_has_no_entries() -> None:
    """A well-formed feed without items is not an error: it just has no entries."""
    body = b'<rss version="2.0"><channel><title>Vide</title></channel></rss>'
    feed = parse_feed(body, url=f"{HUB}/index.xml")
    assert (feed.title, feed.entries, feed.bozo) == ("Vide", [], None)
