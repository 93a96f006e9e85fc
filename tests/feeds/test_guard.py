"""Outbound fetches never reach an internal address: the policy, the resolver, real connections
and redirects against real local HTTP servers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from bot.errors import FetchError
from bot.feeds.fetch import FeedFetcher, Validators, user_agent
from bot.feeds.guard import GuardedResolver, guarded_session
from bot.feeds.policy import AddressPolicy, AddressRefused
from bot.feeds.preview import fetch_items, is_web_address, settings_for

from .conftest import load_feed

LOOPBACK = AddressPolicy.allowing(["127.0.0.1"])
NOTHING = Validators()
BODY = load_feed("infolettre")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("::1", "loopback"),
        ("10.1.2.3", "private"), ("192.168.1.1", "private"), ("172.16.0.1", "private"),
        ("fd12::1", "private"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"), ("239.1.1.1", "multicast"), ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not public"), ("192.0.2.7", "private"),
        ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"), ("::ffff:169.254.169.254", "cloud metadata"),
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::7f00:1", "loopback"), ("2002:7f00:1::", "loopback"),
        ("::7f00:1", "loopback"), ("8.8.8.8", None), ("2001:4860:4860::8888", None),
        ("host.example", "not an address"),
    ],
)  # fmt: skip
def test_internal_addresses_are_refused_and_public_ones_allowed(
    address: str, kind: str | None
) -> None:
    """Loopback, private, link-local, multicast, unspecified, reserved and metadata addresses
    are refused, IPv4 carried in IPv6 included; public addresses are not."""
    assert AddressPolicy().refusal(address) == kind


def test_the_configuration_allows_exactly_what_it_lists() -> None:
    """An allowed address or network is fetched from; its neighbours and the metadata
    addresses (even inside an allowed network) are not."""
    policy = AddressPolicy.allowing(["127.0.0.1", "10.8.0.0/16", "169.254.0.0/16"])
    assert policy.refusal("127.0.0.1") is None and policy.refusal("::ffff:127.0.0.1") is None
    assert policy.refusal("10.8.3.4") is None and policy.refusal("10.9.0.1") == "private"
    assert policy.refusal("127.0.0.2") == "loopback"
    assert policy.refusal("169.254.169.254") == "cloud metadata"


class FixedResolver(AbstractResolver):
    """A resolver answering the same addresses for every name."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=address, port=port, family=family, proto=0, flags=0)
            for address in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_a_name_keeps_only_the_addresses_the_bot_may_reach() -> None:
    """A name resolving to public and internal addresses keeps the public ones only; a name
    resolving only to internal ones is refused."""
    mixed = GuardedResolver(AddressPolicy(), FixedResolver(["10.0.0.5", "93.184.215.14"]))
    assert [r["host"] for r in await mixed.resolve("feeds.example", 443)] == ["93.184.215.14"]
    inward = GuardedResolver(AddressPolicy(), FixedResolver(["127.0.0.1", "169.254.169.254"]))
    with pytest.raises(AddressRefused, match=r"cloud metadata, loopback"):
        await inward.resolve("rebound.example", 80)


@asynccontextmanager
async def server_on(host: str, handler: Callable[[web.Request], object]) -> AsyncIterator[str]:
    """A real HTTP server on ``host`` answering every path with ``handler``; its base URL."""
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)  # type: ignore[arg-type]
    server = TestServer(app, host=host, port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


class Seen:
    """Counts the requests a server received."""

    def __init__(self, answer: Callable[[web.Request], web.StreamResponse]) -> None:
        self.paths: list[str] = []
        self.answer = answer

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        return self.answer(request)


def feed(_request: web.Request) -> web.StreamResponse:
    return web.Response(body=BODY, content_type="application/rss+xml")


def moved(location: str) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": location})


async def fetch(url: str, policy: AddressPolicy) -> None:
    async with guarded_session(policy) as http:
        await FeedFetcher(http, user_agent=user_agent("test", None), timeout=5).fetch(url, NOTHING)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_loopback_is_never_connected_to_unless_allowed(host: str) -> None:
    """A feed on loopback, by address, by a name that resolves there or as IPv4 in IPv6, is
    refused before any connection: the server sees nothing, and the error says why."""
    seen = Seen(feed)
    async with server_on("127.0.0.1", seen) as base:
        port = base.rsplit(":", 1)[1]
        with pytest.raises(FetchError) as caught:
            await fetch(f"http://{host}:{port}/infolettre.xml", AddressPolicy())
    assert caught.value.kind == "forbidden" and "loopback" in str(caught.value)
    assert seen.paths == []


async def test_an_allowed_address_is_fetched() -> None:
    """The address the configuration allows is fetched as any public one."""
    seen = Seen(feed)
    async with server_on("127.0.0.1", seen) as base:
        await fetch(f"{base}/infolettre.xml", LOOPBACK)
    assert seen.paths == ["/infolettre.xml"]


async def test_a_redirect_inward_is_refused_at_its_hop() -> None:
    """An allowed feed host redirecting to an internal address (another loopback address,
    not allowed) is refused at that hop: the second server never sees a request."""
    inner = Seen(feed)
    async with server_on("127.0.0.2", inner) as secret:
        outer = Seen(lambda _: moved(f"{secret}/private.xml"))
        async with server_on("127.0.0.1", outer) as base:
            with pytest.raises(FetchError) as caught:
                await fetch(f"{base}/infolettre.xml", LOOPBACK)
    assert caught.value.kind == "forbidden" and "127.0.0.2" in str(caught.value)
    assert outer.paths == ["/infolettre.xml"] and inner.paths == []


async def test_a_redirect_to_metadata_or_a_file_is_refused() -> None:
    """Redirects to the metadata address and to a file: URL are refused, never followed."""
    targets = iter(["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"])
    outer = Seen(lambda _: moved(next(targets)))
    async with server_on("127.0.0.1", outer) as base:
        with pytest.raises(FetchError) as metadata:
            await fetch(f"{base}/a.xml", LOOPBACK)
        with pytest.raises(FetchError) as local_file:
            await fetch(f"{base}/b.xml", LOOPBACK)
    assert metadata.value.kind == "forbidden" and "cloud metadata" in str(metadata.value)
    assert local_file.value.kind == "redirects"


async def test_redirects_are_followed_up_to_the_limit() -> None:
    """A chain of redirects within the limit reaches the feed; an endless one stops."""
    hops = Seen(lambda r: moved(f"/{int(r.path[1:]) + 1}") if r.path != "/3" else feed(r))
    async with server_on("127.0.0.1", hops) as base:
        await fetch(f"{base}/0", LOOPBACK)
        with pytest.raises(FetchError) as caught:
            await fetch(f"{base}/-9", LOOPBACK)
    assert hops.paths[:4] == ["/0", "/1", "/2", "/3"] and caught.value.kind == "redirects"


async def test_a_preview_reads_the_network_only(tmp_path: Path) -> None:
    """``HTTP://`` is a web address whatever its case; a path is never read as a feed."""
    assert is_web_address("HTTP://example.org/feed.xml") and not is_web_address("feeds/x.xml")
    seen = Seen(feed)
    (tmp_path / "feed.xml").write_bytes(BODY)
    async with server_on("127.0.0.1", seen) as base, guarded_session(LOOPBACK) as http:
        fetcher = FeedFetcher(http, user_agent=user_agent("test", None))
        url = base.replace("http://", "HTTP://") + "/infolettre.xml"
        items = await fetch_items(url, settings_for(None, url), fetcher)
        with pytest.raises(FetchError):
            path = str(tmp_path / "feed.xml")
            await fetch_items(path, settings_for(None, path), fetcher)
    assert items and seen.paths == ["/infolettre.xml"]
