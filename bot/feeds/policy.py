"""Which network addresses the bot fetches from: public ones, plus the private ones the
configuration lists (``fetch.allow_private``); cloud metadata addresses never. An IPv6 address
carrying an IPv4 one (``::ffff:127.0.0.1``, NAT64, 6to4) is judged by the IPv4 address it carries.

``bot.feeds.guard`` applies this policy to every connection the fetcher makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Instance metadata services: AWS, Azure, GCP, OpenStack (and AWS ECS tasks), AWS over IPv6,
# Alibaba Cloud, Oracle Cloud. Refused even when a configured network contains them.
METADATA = frozenset(
    ip_address(text)
    for text in (
        "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
    )
)  # fmt: skip
_NAT64 = ip_network("64:ff9b::/96")


class AddressRefused(OSError):
    """A fetch would have reached an address the bot does not fetch from."""


def carried(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, compatible), else itself."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def kind_of(address: Address) -> str | None:
    """What makes ``address`` one the bot does not fetch from by default; None for a public one."""
    checks: Sequence[tuple[str, bool]] = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the private networks the configuration allows explicitly."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def allowing(cls, entries: Sequence[str]) -> AddressPolicy:
        """A policy allowing these addresses or networks (``127.0.0.1``, ``10.1.0.0/16``)."""
        return cls(tuple(ip_network(entry.strip(), strict=False) for entry in entries))

    def refusal(self, host: str) -> str | None:
        """Why the bot may not connect to the address ``host``; None when it may."""
        try:
            address = ip_address(host)
        except ValueError:
            return "not an address"
        inner = carried(address)
        if address in METADATA or inner in METADATA:
            return "cloud metadata"
        if any(inner in network or address in network for network in self.allowed):
            return None
        return kind_of(inner)

    def check(self, host: str) -> None:
        """Raise ``AddressRefused`` unless the bot may connect to the address ``host``."""
        reason = self.refusal(host)
        if reason is not None:
            raise AddressRefused(f"{host} is not fetched from ({reason})")
