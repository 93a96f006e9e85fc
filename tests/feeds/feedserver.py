"""A real local HTTP server for feeds whose content tests change between polls, and XML edits."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web
from aiohttp.test_utils import TestServer

_ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)


@dataclass
class Route:
    """What one path answers: a body (with an ETag from its hash), or a status, or silence."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    etag: bool = True


class FeedServer:
    """Serves ``routes`` on 127.0.0.1; each request is counted, and 304 answered to a known ETag."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, int]] = []
        self.release = asyncio.Event()
        self.server: TestServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def serve(self, path: str, body: bytes | str, **options: object) -> str:
        """Answer ``path`` with ``body`` from now on; its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = self.routes.get(request.path)
        if route is None:
            raise web.HTTPNotFound()
        if route.hang:
            await self.release.wait()
        status = self._status(request, route)
        self.requests.append((request.path, status))
        headers = dict(route.headers)
        if route.etag and route.status == 200:
            headers["ETag"] = _etag(route.body)
        if status == 304:
            return web.Response(status=304, headers=headers)
        if status >= 300:
            return web.Response(status=status, headers=headers, text="erreur")
        return web.Response(body=route.body, headers=headers, content_type="application/rss+xml")

    @staticmethod
    def _status(request: web.Request, route: Route) -> int:
        known = request.headers.get("If-None-Match")
        if route.status == 200 and route.etag and known == _etag(route.body):
            return 304
        return route.status


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@asynccontextmanager
async def feed_server(host: str = "127.0.0.1") -> AsyncIterator[FeedServer]:
    """A started feed server on a free port of a loopback address."""
    feeds = FeedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", feeds.handle)
    feeds.server = TestServer(app, host=host, port=0)
    await feeds.server.start_server()
    try:
        yield feeds
    finally:
        feeds.release.set()
        await feeds.server.close()


def items(xml: str) -> list[str]:
    """The ``<item>`` blocks of an RSS document, in order."""
    return _ITEM.findall(xml)


def with_items(xml: str, blocks: list[str]) -> str:
    """The document with its items replaced by ``blocks``."""
    found = list(_ITEM.finditer(xml))
    head, tail = xml[: found[0].start()], xml[found[-1].end() :]
    return head + "\n".join(blocks) + tail


def retitle(block: str, title: str) -> str:
    """An item block with a new title (``title`` is inserted as raw XML text)."""
    return re.sub(r"<title>.*?</title>", f"<title>{title}</title>", block, count=1, flags=re.DOTALL)


def redate(block: str, pub_date: str) -> str:
    """An item block with a new ``pubDate``."""
    return re.sub(r"<pubDate>.*?</pubDate>", f"<pubDate>{pub_date}</pubDate>", block, count=1)


def newest_dated_lately(xml: str, count: int, today: datetime) -> str:
    """The feed with its ``count`` newest items dated one a day up to ``today``, newest first,
    so that a test may publish them "now" without their being too old to announce."""
    blocks = items(xml)
    for n in range(count):
        day = (today - timedelta(days=n)).replace(hour=0, minute=0, second=0, microsecond=0)
        blocks[n] = redate(blocks[n], format_datetime(day.astimezone(UTC), usegmt=True))
    return with_items(xml, blocks)
