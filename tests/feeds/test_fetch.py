"""Fetching a feed from a real local HTTP server: validators, errors, limits, backoff."""

import asyncio
import logging
import random
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.errors import FetchError
from bot.feeds.fetch import (
    FeedFetcher,
    Validators,
    next_delay,
    retry_after_seconds,
    user_agent,
)

from .conftest import load_feed

UA = user_agent("0.1", "ssphub@example.org")
BODY = load_feed("infolettre")
HUGE_BYTES = 20 * 1024 * 1024
NOTHING = Validators(None, None, None)
SERVER_DATE = "Mon, 23 Nov 2026 10:00:00 GMT"


class Hub:
    """The local server's handlers and what they saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.huge_sent = 0
        self.huge_done = asyncio.Event()
        self.release = asyncio.Event()

    async def etag(self, request: web.Request) -> web.Response:
        """The feed with an ETag, 304 when the client already has it."""
        self.seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=BODY, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    async def last_modified(self, request: web.Request) -> web.Response:
        """The feed with Last-Modified, 304 when the client has that version."""
        stamp = "Tue, 30 Jun 2026 08:00:00 GMT"
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(body=BODY, headers={"Last-Modified": stamp})

    async def plain(self, request: web.Request) -> web.Response:
        """The feed without any validator."""
        return web.Response(body=BODY)

    async def status(self, request: web.Request) -> web.Response:
        """An error status, with Retry-After for 429 (seconds) and 503 (HTTP-date)."""
        code = int(request.match_info["code"])
        headers = {"Date": SERVER_DATE}
        if code == 429:
            headers["Retry-After"] = "120"
        if code == 503:
            headers["Retry-After"] = "Mon, 23 Nov 2026 10:01:30 GMT"
        return web.Response(status=code, headers=headers, text="erreur")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """A 20 MB body streamed in chunks, counting what actually left the server."""
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            while self.huge_sent < HUGE_BYTES:
                await response.write(chunk)
                self.huge_sent += len(chunk)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass
        finally:
            self.huge_done.set()
        return response

    async def hang(self, request: web.Request) -> web.Response:
        """Never answers until the test ends."""
        await self.release.wait()
        return web.Response(text="trop tard")

    async def slow_body(self, request: web.Request) -> web.StreamResponse:
        """Answers headers and a first chunk, then stalls."""
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(BODY[:1000])
        await self.release.wait()
        return response

    async def loop(self, request: web.Request) -> web.Response:
        """Redirects to itself forever."""
        raise web.HTTPFound("/loop")

    async def moved(self, request: web.Request) -> web.Response:
        """A permanent redirect to the feed."""
        raise web.HTTPMovedPermanently("/plain")


@pytest.fixture
def hub() -> Hub:
    """Fresh handlers for one test."""
    return Hub()


@pytest_asyncio.fixture
async def base_url(hub: Hub) -> AsyncIterator[str]:
    """A real HTTP server on 127.0.0.1 serving the hub's handlers."""
    app = web.Application()
    app.router.add_get("/etag", hub.etag)
    app.router.add_get("/last-modified", hub.last_modified)
    app.router.add_get("/plain", hub.plain)
    app.router.add_get("/status/{code}", hub.status)
    app.router.add_get("/huge", hub.huge)
    app.router.add_get("/hang", hub.hang)
    app.router.add_get("/slow-body", hub.slow_body)
    app.router.add_get("/loop", hub.loop)
    app.router.add_get("/moved", hub.moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    hub.release.set()
    await server.close()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, as the bot shares one."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def fetcher(session: aiohttp.ClientSession) -> FeedFetcher:
    """A fetcher with a short timeout so failing tests stay fast."""
    return FeedFetcher(session, user_agent=UA, timeout=0.5)


async def test_etag_then_not_modified(fetcher: FeedFetcher, base_url: str, hub: Hub) -> None:
    """A first fetch returns the body and ETag; the next, sending If-None-Match, gets 304."""
    first = await fetcher.fetch(f"{base_url}/etag", NOTHING)
    assert (first.status, first.body, first.validators.etag) == ("fetched", BODY, '"v1"')
    assert first.content_type == "application/rss+xml"
    second = await fetcher.fetch(f"{base_url}/etag", first.validators)
    assert (second.status, second.body, second.http_status) == ("not_modified", None, 304)
    assert second.validators == first.validators
    assert hub.seen[1]["If-None-Match"] == '"v1"' and hub.seen[0]["User-Agent"] == UA


async def test_last_modified_then_not_modified(fetcher: FeedFetcher, base_url: str) -> None:
    """Last-Modified is stored and sent back as If-Modified-Since, which yields 304."""
    first = await fetcher.fetch(f"{base_url}/last-modified", NOTHING)
    assert first.validators.last_modified == "Tue, 30 Jun 2026 08:00:00 GMT"
    second = await fetcher.fetch(f"{base_url}/last-modified", first.validators)
    assert second.status == "not_modified"


async def test_same_body_without_validators_is_unchanged(
    fetcher: FeedFetcher, base_url: str
) -> None:
    """A server without validators sending the same bytes again gives "unchanged", no body."""
    first = await fetcher.fetch(f"{base_url}/plain", NOTHING)
    second = await fetcher.fetch(f"{base_url}/plain", first.validators)
    assert first.status == "fetched" and first.validators.body_hash is not None
    assert (second.status, second.body, second.http_status) == ("unchanged", None, 200)


async def test_permanent_redirect_is_followed(fetcher: FeedFetcher, base_url: str) -> None:
    """A 301 to the feed is followed and the feed fetched."""
    result = await fetcher.fetch(f"{base_url}/moved", NOTHING)
    assert (result.status, result.body) == ("fetched", BODY)


@pytest.mark.parametrize(
    ("code", "kind", "retry_after"),
    [(500, "http_5xx", None), (404, "http_4xx", None), (429, "http_4xx", 120.0),
     (503, "http_5xx", 90.0)],
)  # fmt: skip
async def test_error_statuses(
    fetcher: FeedFetcher, base_url: str, code: int, kind: str, retry_after: float | None
) -> None:
    """Error statuses become FetchError of their class, with Retry-After in seconds (delta or
    HTTP-date against the server's Date)."""
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"{base_url}/status/{code}", NOTHING)
    error = caught.value
    assert (error.kind, error.http_status, error.retry_after) == (kind, code, retry_after)


async def test_huge_body_is_refused_without_reading_it_all(
    session: aiohttp.ClientSession, base_url: str, hub: Hub
) -> None:
    """A 20 MB streamed body is refused past the cap and the connection dropped long before the
    server could send it all (kernel buffers still take a few MB)."""
    fetcher = FeedFetcher(session, user_agent=UA, timeout=10, max_bytes=1024 * 1024)
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"{base_url}/huge", NOTHING)
    assert caught.value.kind == "too_large"
    await asyncio.wait_for(hub.huge_done.wait(), timeout=5)
    assert hub.huge_sent < HUGE_BYTES


async def test_declared_size_over_the_cap_is_refused(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    """A Content-Length above the cap is refused before reading any of the body."""
    fetcher = FeedFetcher(session, user_agent=UA, max_bytes=1000)
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"{base_url}/plain", NOTHING)
    assert caught.value.kind == "too_large"


@pytest.mark.parametrize("path", ["/hang", "/slow-body"])
async def test_timeout(fetcher: FeedFetcher, base_url: str, path: str) -> None:
    """A server that never answers, or stalls mid-body, fails as a timeout within the limit."""
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"{base_url}{path}", NOTHING)
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2


async def test_redirect_loop(fetcher: FeedFetcher, base_url: str) -> None:
    """A redirect loop fails as "redirects"."""
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"{base_url}/loop", NOTHING)
    assert caught.value.kind == "redirects"


async def test_connection_refused(fetcher: FeedFetcher) -> None:
    """Nobody listening on the port fails as "network"."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml", NOTHING)
    assert caught.value.kind == "network"


async def test_body_is_never_logged(
    fetcher: FeedFetcher, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Fetching logs the feed and size, never the feed's content."""
    with caplog.at_level(logging.DEBUG, logger="bot.feeds.fetch"):
        await fetcher.fetch(f"{base_url}/plain", NOTHING)
        with pytest.raises(FetchError):
            await fetcher.fetch(f"{base_url}/status/500", NOTHING)
    assert caplog.records and "infolettre" not in caplog.text and "erreur" not in caplog.text


def test_user_agent_is_honest() -> None:
    """The User-Agent names the bot, what it does and a contact, and looks like no browser."""
    agent = user_agent("0.1", "ssphub@example.org")
    assert agent.startswith("ssphub-bot/0.1 (feed reader of the SSP Hub community bot")
    assert agent.endswith("; contact: ssphub@example.org)") and "Mozilla" not in agent


def test_user_agent_drops_an_unsafe_contact() -> None:
    """A contact that would break the header (line break) is left out."""
    assert "contact" not in user_agent("0.1", "a@b.fr\r\nX-Evil: 1")
    assert "contact" not in user_agent("0.1", None)


class Highest(random.Random):
    """An rng whose jitter always picks the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_grows_exponentially_then_caps() -> None:
    """Failures double the ceiling from the poll interval up to the cap."""
    delays = [next_delay(60, n, retry_after=None, rng=Highest()) for n in range(8)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_jitter_is_bounded_and_deterministic() -> None:
    """Jittered delays stay between the interval and the ceiling; a seed replays them."""
    first = [next_delay(60, 4, retry_after=None, rng=random.Random(7)) for _ in range(50)]
    again = [next_delay(60, 4, retry_after=None, rng=random.Random(7)) for _ in range(50)]
    rng = random.Random(7)
    spread = [next_delay(60, 4, retry_after=None, rng=rng) for _ in range(200)]
    assert first == again
    assert all(60 <= delay <= 960 for delay in spread) and len(set(spread)) > 100


def test_retry_after_is_a_floor() -> None:
    """Retry-After is honoured even above the cap, and without failures too."""
    rng = random.Random(1)
    assert next_delay(60, 3, retry_after=5000, rng=rng) >= 5000
    assert next_delay(60, 0, retry_after=300, rng=rng) == 300


def test_huge_failure_count_does_not_overflow() -> None:
    """Thousands of failures still give the cap, not an overflow."""
    assert next_delay(60, 10_000, retry_after=None, rng=Highest()) == 3600


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 0 ", 0.0), ("Mon, 23 Nov 2026 10:01:30 GMT", 90.0),
     ("Mon, 23 Nov 2026 09:00:00 GMT", 0.0), ("9999999", 86400.0), ("bientôt", None),
     ("", None), (None, None), ("-5", None)],
)  # fmt: skip
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    """Retry-After reads delta-seconds and HTTP-dates, clamps to [0, 1 day], ignores junk."""
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert retry_after_seconds(value, now) == expected
