"""The fetcher's HTTP session, which only ever connects to addresses the policy allows.

The check applies to the address actually connected to, after name resolution: the resolver
keeps only allowed addresses (the connector connects to nothing else, so a name cannot resolve
one way when checked and another when connected), and the socket factory refuses any other
address as a last guard. Redirects are followed by the fetcher itself, each hop going through
the same connector.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.feeds.policy import AddressPolicy, AddressRefused


class GuardedResolver(AbstractResolver):
    """Resolves names with aiohttp's resolver and keeps only the addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        kept = [result for result in results if self.policy.refusal(result["host"]) is None]
        if not kept:
            reasons = ", ".join(sorted({str(self.policy.refusal(r["host"])) for r in results}))
            raise AddressRefused(f"{host} resolves to no address fetched from ({reasons})")
        return kept

    async def close(self) -> None:
        await self.inner.close()


def socket_factory(policy: AddressPolicy) -> Callable[[Any], socket.socket]:
    """The connector's socket maker: the last check, on the very address being connected to."""

    def create(addr_info: Any) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        policy.check(str(sockaddr[0]))
        return socket.socket(family, kind, proto)

    return create


def guarded_session(policy: AddressPolicy) -> aiohttp.ClientSession:
    """An HTTP session that only ever connects to addresses ``policy`` allows (no proxy)."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy), socket_factory=socket_factory(policy)
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False)
