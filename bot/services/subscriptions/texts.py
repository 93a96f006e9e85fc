"""What the bot says in a member's DM about their subscription, from the catalogue (pure)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Catalogue
from bot.services.dates import Dates
from bot.services.subscriptions.confirm import Checked
from bot.services.subscriptions.replies import Reply
from bot.storage.subscriptions import UNCONFIRMED, Subscriber


def proposal(t: Catalogue, prefix: str, candidates: tuple[str, ...]) -> str:
    """Hello, the consent text, and the addresses the Tchap id encodes (or the question)."""
    consent = t("subscriptions.consent", prefix=prefix)
    if len(candidates) == 1:
        ask = t("subscriptions.propose_one", address=candidates[0], prefix=prefix)
    elif candidates:
        choices = "\n".join(f"{n}. {address}" for n, address in enumerate(candidates, 1))
        ask = t("subscriptions.propose_many", choices=choices, prefix=prefix)
    else:
        ask = t("subscriptions.ask_address", prefix=prefix)
    return f"{t('subscriptions.hello')}\n\n{consent}\n\n{ask}"


def clarify(t: Catalogue, prefix: str, reply: Reply, candidates: tuple[str, ...]) -> str:
    """What to say to a reply that chose nothing."""
    if reply.kind == "no":
        return t("subscriptions.declined", prefix=prefix)
    if not candidates:
        return t("subscriptions.ask_address", prefix=prefix)
    return t("subscriptions.pick_number", count=len(candidates), prefix=prefix)


def done(t: Catalogue, prefix: str, address: str, *, by_dm: bool, status: str) -> str:
    """The subscription is stored: with which address, and whether nothing confirms it."""
    key = "subscriptions.done_dm" if by_dm else "subscriptions.done"
    text = t(key, address=address, prefix=prefix)
    return f"{text}\n{t('subscriptions.unconfirmed')}" if status == UNCONFIRMED else text


def not_confirmed(t: Catalogue, prefix: str, checked: Checked) -> str:
    """A code that did not confirm the address: wrong, expired, or one try too many."""
    key = f"subscriptions.code_{checked.outcome.value}"
    return t(key, left=checked.attempts_left, prefix=prefix)


def stored(t: Catalogue, prefix: str, tz: ZoneInfo, current: Subscriber) -> str:
    """Everything kept about the member."""
    dm_key = "subscriptions.dm_on" if current.dm_delivery else "subscriptions.dm_off"
    if current.dm_delivery and current.dm_unreachable_at is not None:
        dm_key = "subscriptions.dm_unreachable"
    address = current.email or ""
    if current.address_status == UNCONFIRMED:
        address = t("subscriptions.unconfirmed_address", address=address)
    return t(
        "subscriptions.stored",
        address=address,
        name=current.name or "",
        user_id=current.user_id or "",
        consent=Dates(t, tz).moment(current.consent_at),
        version=current.consent_version or "",
        dm=t(dm_key, prefix=prefix),
        prefix=prefix,
    )
