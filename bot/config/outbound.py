"""The sections about what the bot reaches outside Matrix: web fetches, and the mail server."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import Address
from email.utils import parseaddr
from ipaddress import ip_address, ip_network
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config.fields import Secret, Section, Text, check
from bot.feeds.policy import AddressPolicy


def _address_or_network(value: str) -> str:
    try:
        ip_network(value.strip(), strict=False)
    except ValueError:
        check(False, f"{value!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)")
    return value.strip()


def _mailbox(value: str) -> str:
    """``bot@insee.fr`` or ``SSP Hub <bot@insee.fr>``."""
    _, address = parseaddr(value)
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        check(False, f'{value!r} is not a mail address (such as "SSP Hub <bot@insee.fr>")')
    check("@" in address, f'{value!r} is not a mail address (such as "SSP Hub <bot@insee.fr>")')
    return value


AddressOrNetwork = Annotated[str, AfterValidator(_address_or_network)]
Mailbox = Annotated[str, AfterValidator(_mailbox)]


class FetchConfig(Section):
    """Web fetches (feeds, previews): internal addresses are refused unless listed here."""

    allow_private: tuple[AddressOrNetwork, ...] = ()


class MailConfig(Section):
    """The mail server that sends address confirmation codes; without it, an address that does
    not match the member's Tchap id is kept as unconfirmed."""

    host: Text
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Text | None = None
    password: Secret | None = None
    sender: Mailbox
    timeout_seconds: float = Field(default=20.0, gt=0)
    code_minutes: int = Field(default=30, ge=5, le=24 * 60)


def unfetchable_feeds(urls: Sequence[str], allowed: Sequence[str]) -> list[InitErrorDetails]:
    """A problem for each feed URL whose host is an IP address the bot would refuse to fetch
    from (names are checked once resolved, at each fetch), at its key."""
    policy = AddressPolicy.allowing(allowed)
    problems = []
    for index, url in enumerate(urls):
        why = _refusal(policy, urlsplit(url).hostname or "")
        if why is not None:
            reason = f"{why}, which the bot does not fetch from; list it under fetch.allow_private"
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError("config", reason),
                    loc=("feeds", index, "url"),
                    input=url,
                )
            )
    return problems


def _refusal(policy: AddressPolicy, host: str) -> str | None:
    try:
        ip_address(host)
    except ValueError:
        return None
    reason = policy.refusal(host)
    return None if reason is None else f"{host} is a {reason} address"
