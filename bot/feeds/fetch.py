"""One feed over HTTP: conditional GET, size cap, timeout, Retry-After, backoff with jitter."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import aiohttp
from aiohttp import hdrs
from yarl import URL

from bot.clock import Clock, SystemClock
from bot.errors import (
    ExceptionTypes,
    FeedForbidden,
    FeedRedirected,
    FeedRefused,
    FeedTimeout,
    FeedTooLarge,
    FeedUnreachable,
    FetchError,
    Translate,
    map_exceptions,
)
from bot.feeds.policy import AddressRefused

log = logging.getLogger(__name__)

PURPOSE = "feed reader of the SSP Hub community bot"
CHUNK_BYTES = 64 * 1024
MAX_RETRY_AFTER = 24 * 3600.0  # a server asking for more is not believed beyond a day
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.1"
_DELTA_SECONDS = re.compile(r"[0-9]+")
REDIRECTS = frozenset({301, 302, 303, 307, 308})

FetchStatus = Literal["not_modified", "unchanged", "fetched"]


@dataclass(frozen=True)
class Validators:
    """What the previous fetch left to make the next one conditional."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """A successful fetch: the body only when it changed, and the validators to store."""

    status: FetchStatus
    body: bytes | None
    validators: Validators
    http_status: int
    content_type: str | None = None


def user_agent(version: str, contact: str | None) -> str:
    """An honest User-Agent naming the bot, what it does and whom to contact."""
    details = [PURPOSE]
    if contact and _header_safe(contact):
        details.append(f"contact: {contact.strip()}")
    return f"ssphub-bot/{version} ({'; '.join(details)})"


def next_delay(
    base_interval: float,
    consecutive_failures: int,
    *,
    retry_after: float | None,
    rng: random.Random,
    cap: float = 3600,
) -> float:
    """Seconds before the next poll: full jitter under a doubling ceiling, never below the normal
    interval nor below the server's Retry-After (which may exceed ``cap``)."""
    floor = max(base_interval, retry_after or 0.0)
    if consecutive_failures <= 0:
        return floor
    ceiling = min(cap, base_interval * 2.0 ** min(consecutive_failures, 32))
    return max(floor, rng.uniform(0.0, ceiling))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (delta-seconds or HTTP-date) as seconds from ``now``, bounded."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), MAX_RETRY_AFTER)
    when = http_date(value)
    if when is None:
        return None
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date as an aware datetime (GMT when unspecified), or None when unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class FeedFetcher:
    """Fetches feeds with one shared aiohttp session; never logs a body.

    The session comes from ``bot.feeds.guard.guarded_session``, which never connects to an
    internal address; redirects are followed here, so every hop goes through that session.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        user_agent: str,
        timeout: float = 20,
        max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 5,
        clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._user_agent = user_agent
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._clock: Clock = clock or SystemClock()

    def limited(self, *, timeout: float, max_bytes: int) -> FeedFetcher:
        """This fetcher (same session, agent and clock) with one feed's own limits."""
        return FeedFetcher(
            self._session,
            user_agent=self._user_agent,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=self._max_redirects,
            clock=self._clock,
        )

    async def fetch(self, url: str, previous: Validators) -> FetchResult:
        """GET ``url`` conditionally; raise ``FetchError`` for anything but 2xx or 304."""
        try:
            with map_exceptions(self._errors()):
                async with asyncio.timeout(self._timeout):
                    return await self._get(url, previous)
        except FetchError as error:
            log.info("feed %s: fetch failed (%s)", url, error)
            raise

    def _errors(self) -> dict[ExceptionTypes, Translate]:
        """What aiohttp's failures mean for a feed (the first match wins)."""
        return {
            TimeoutError: lambda _: FeedTimeout(f"no answer within {self._timeout} s"),
            AddressRefused: lambda e: FeedForbidden(str(e)),
            aiohttp.ClientConnectorError: _connect_error,
            (aiohttp.ClientError, OSError, ValueError): lambda e: FeedUnreachable(type(e).__name__),
        }

    async def _get(self, url: str, previous: Validators) -> FetchResult:
        """The request, and each redirect's, answered by status."""
        target = URL(url)
        for _ in range(self._max_redirects + 1):
            async with self._session.get(
                target,
                headers=self._headers(previous),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                following = _redirect(response)
                if following is None:
                    return await self._answer(response, previous)
            target = following
        raise FeedRedirected(f"more than {self._max_redirects}")

    async def _answer(self, response: aiohttp.ClientResponse, previous: Validators) -> FetchResult:
        """The final answer, by status."""
        if response.status == 304:
            return self._not_modified(response, previous)
        self._raise_for_status(response)
        body = await self._read_capped(response)
        return self._fetched(response, previous, body)

    def _headers(self, previous: Validators) -> dict[str, str]:
        """Request headers: who we are, what we accept, and the stored validators."""
        headers: dict[str, str] = {hdrs.USER_AGENT: self._user_agent, hdrs.ACCEPT: ACCEPT}
        if previous.etag:
            headers[hdrs.IF_NONE_MATCH] = previous.etag
        if previous.last_modified:
            headers[hdrs.IF_MODIFIED_SINCE] = previous.last_modified
        return headers

    def _not_modified(self, response: aiohttp.ClientResponse, previous: Validators) -> FetchResult:
        """304: keep the stored body hash, take any validator the server refreshed."""
        validators = Validators(
            etag=response.headers.get(hdrs.ETAG, previous.etag),
            last_modified=response.headers.get(hdrs.LAST_MODIFIED, previous.last_modified),
            body_hash=previous.body_hash,
        )
        return FetchResult("not_modified", None, validators, response.status)

    def _raise_for_status(self, response: aiohttp.ClientResponse) -> None:
        """Turn a non-2xx answer into a ``FetchError`` carrying the server's Retry-After."""
        status = response.status
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            raise FeedRedirected(f"HTTP {status} not followed", http_status=status)
        header = response.headers.get(hdrs.RETRY_AFTER)
        raise FeedRefused(status, retry_after=retry_after_seconds(header, self._now(response)))

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """Read the body in chunks, refusing it (and closing the connection) past ``max_bytes``."""
        declared = response.content_length
        if declared is not None and declared > self._max_bytes:
            response.close()
            raise FeedTooLarge(f"declares {declared} bytes", http_status=response.status)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > self._max_bytes:
                response.close()
                raise FeedTooLarge(f"over {self._max_bytes} bytes", http_status=200)
            chunks.append(chunk)
        return b"".join(chunks)

    def _fetched(
        self, response: aiohttp.ClientResponse, previous: Validators, body: bytes
    ) -> FetchResult:
        """2xx: "unchanged" when the body hashes as before, else the new body."""
        body_hash = hashlib.sha256(body).hexdigest()
        validators = Validators(
            etag=response.headers.get(hdrs.ETAG),
            last_modified=response.headers.get(hdrs.LAST_MODIFIED),
            body_hash=body_hash,
        )
        content_type = response.headers.get(hdrs.CONTENT_TYPE)
        if body_hash == previous.body_hash:
            return FetchResult("unchanged", None, validators, response.status, content_type)
        log.debug("feed %s: fetched %d bytes", response.url, len(body))
        return FetchResult("fetched", body, validators, response.status, content_type)

    def _now(self, response: aiohttp.ClientResponse) -> datetime:
        """The server's own Date when it sent one (no clock skew), else our clock."""
        return http_date(response.headers.get(hdrs.DATE)) or self._clock.now()


def _redirect(response: aiohttp.ClientResponse) -> URL | None:
    """Where a redirect leads (an http(s) URL), or None when the answer is no redirect."""
    location = response.headers.get(hdrs.LOCATION)
    if response.status not in REDIRECTS or not location:
        return None
    try:
        target = response.url.join(URL(location))
    except ValueError:
        raise FeedRedirected("to an unreadable address", http_status=response.status) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise FeedRedirected("to an address that is not http(s)", http_status=response.status)
    return target


def _connect_error(error: BaseException) -> FetchError:
    """A connection that failed, or that the address guard refused."""
    cause = getattr(error, "os_error", None)
    if isinstance(cause, AddressRefused):
        return FeedForbidden(str(cause))
    return FeedUnreachable(type(error).__name__)


def _header_safe(text: str) -> bool:
    """True when ``text`` can sit in a header: printable, no line breaks, no parentheses."""
    return all(ch.isprintable() and ch not in "()" for ch in text)
