"""The soak's site: the hub's event and newsletter feeds on a loopback server, flipping between
the two site builds of the 2026-05 restructuring, a newsletter of today in the newer one only."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the feed layouts of the tests

from tests.feeds.feedserver import FeedServer, feed_server
from tests.feeds.layouts import (
    EVENTS,
    NEWSLETTERS,
    old_event_feed,
    old_newsletter_feed,
    with_newsletter,
)

NEWSLETTER_NUMBER = 27
NEWSLETTER_TITLE = "Infolettre n°27 — la statistique publique au long cours"
PATHS = ("/event.xml", "/infolettre/infolettre.xml")


Build = tuple[str, str]  # the bodies at PATHS


def builds(published: datetime) -> tuple[Build, Build]:
    """The older build (events under /talk/, a shorter newsletter window), and the newer one
    with a newsletter published at ``published``."""
    fresh = with_newsletter(NEWSLETTERS, NEWSLETTER_NUMBER, published, NEWSLETTER_TITLE)
    return (old_event_feed(), old_newsletter_feed()), (EVENTS, fresh)


class Site:
    """The two builds of the site; ``flip`` serves the other one."""

    def __init__(self, server: FeedServer, published: datetime) -> None:
        self.server = server
        self.builds = builds(published)
        self.current = 0
        self.flips = 0
        self._serve()

    def _serve(self) -> None:
        for path, body in zip(PATHS, self.builds[self.current], strict=True):
            self.server.serve(path, body)

    def urls(self) -> list[str]:
        return [self.server.url(path) for path in PATHS]

    def flip(self) -> None:
        """Serve the other build from now on."""
        self.current = 1 - self.current
        self.flips += 1
        self._serve()

    @property
    def newsletter_shown(self) -> bool:
        """Whether the newer build, with the fresh newsletter, has been served at least once."""
        return self.flips > 0

    def requests(self) -> Counter[int]:
        """HTTP statuses answered so far, counted (304: a conditional request that matched)."""
        return Counter(status for _, status in self.server.requests)


@contextlib.asynccontextmanager
async def site() -> AsyncIterator[Site]:
    """The site on 127.0.0.1, serving the older build first."""
    async with feed_server() as server:
        yield Site(server, datetime.now(UTC))
