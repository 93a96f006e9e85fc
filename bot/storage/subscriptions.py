"""Subscribers and pending address offers; erasure empties a subscriber's personal fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import SubscriberRow, SubscriptionOfferRow

TCHAP, IMPORT = "tchap", "import"
# How an address is known (``address_status``): the Tchap id encodes it, a code mailed to it
# came back, nothing confirms it, or it came from the hub's contact table.
MATCHES_ID, CONFIRMED, UNCONFIRMED, IMPORTED = "tchap", "code", "unconfirmed", "import"


@dataclass(frozen=True)
class Subscriber:
    """A subscriber as stored (an active one: personal fields are there)."""

    id: int
    user_id: str | None
    email: str | None
    name: str | None
    domain: str | None
    source: str
    consent_at: datetime | None
    consent_version: str | None
    dm_delivery: bool
    dm_room_id: str | None
    dm_unreachable_at: datetime | None
    subscribed_at: datetime
    updated_at: datetime | None
    address_status: str | None = None


@dataclass(frozen=True)
class Contact:
    """Who is subscribing: the personal fields written together, and how the address is known."""

    email: str
    name: str
    domain: str
    status: str = UNCONFIRMED


@dataclass(frozen=True)
class Offer:
    """Addresses proposed to a member in their DM, in the language they asked in."""

    user_id: str
    room_id: str
    candidates: tuple[str, ...]
    language: str
    outbox_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Counts:
    """How many are subscribed, receive DMs, and could not be reached by DM."""

    active: int
    by_dm: int
    unreachable: int


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        row.id, row.user_id, row.email, row.name, row.domain, row.source, row.consent_at,
        row.consent_version, row.dm_delivery, row.dm_room_id, row.dm_unreachable_at,
        row.subscribed_at, row.updated_at, row.address_status,
    )  # fmt: skip


_ACTIVE = SubscriberRow.unsubscribed_at.is_(None)


async def by_user(session: AsyncSession, user_id: str) -> Subscriber | None:
    """The member's active subscription, if any."""
    row = await session.scalar(select(SubscriberRow).where(SubscriberRow.user_id == user_id))
    return None if row is None or row.unsubscribed_at else _subscriber(row)


async def with_email(session: AsyncSession, email: str) -> list[Subscriber]:
    """The active subscriptions holding this address (a member's unconfirmed claim may sit
    beside its confirmed holder), oldest first."""
    rows = await session.scalars(
        select(SubscriberRow)
        .where(SubscriberRow.email == email, _ACTIVE)
        .order_by(SubscriberRow.id)
    )
    return [_subscriber(row) for row in rows]


async def add(
    session: AsyncSession,
    *,
    contact: Contact,
    source: str,
    now: datetime,
    user_id: str | None = None,
    consent_version: str | None = None,
    dm_room_id: str | None = None,
) -> Subscriber:
    """Store a new subscriber; consent is dated ``now`` when a wording version is given."""
    row = SubscriberRow(
        user_id=user_id, email=contact.email, name=contact.name, domain=contact.domain,
        address_status=contact.status, source=source, consent_at=now if consent_version else None,
        consent_version=consent_version, dm_delivery=dm_room_id is not None,
        dm_room_id=dm_room_id, subscribed_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return _subscriber(row)


async def update_contact(
    session: AsyncSession,
    subscriber_id: int,
    *,
    contact: Contact,
    user_id: str,
    consent_version: str,
    now: datetime,
) -> None:
    """A member's new address (or an imported row claimed by its member), consented ``now``."""
    await session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id)
        .values(
            user_id=user_id, email=contact.email, name=contact.name, domain=contact.domain,
            address_status=contact.status, consent_at=now, consent_version=consent_version,
            updated_at=now,
        )
    )  # fmt: skip


async def set_dm(
    session: AsyncSession, subscriber_id: int, *, room_id: str | None, now: datetime
) -> None:
    """Deliver newsletters to ``room_id`` by DM, or (None) stop delivering them by DM."""
    await session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id)
        .values(
            dm_delivery=room_id is not None, dm_room_id=room_id, dm_unreachable_at=None,
            updated_at=now,
        )
    )  # fmt: skip


async def mark_unreachable(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """These subscribers' DMs are gone: no more newsletters by DM until they say otherwise."""
    if ids:
        await session.execute(
            update(SubscriberRow)
            .where(SubscriberRow.id.in_(list(ids)), SubscriberRow.dm_unreachable_at.is_(None))
            .values(dm_unreachable_at=now)
        )


async def erase(session: AsyncSession, subscriber_id: int, now: datetime) -> None:
    """Unsubscribe for real: every personal field emptied; only the dates and source stay."""
    await session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id)
        .values(
            user_id=None, email=None, name=None, domain=None, address_status=None,
            consent_at=None, consent_version=None, dm_delivery=False, dm_room_id=None,
            dm_unreachable_at=None, updated_at=now, unsubscribed_at=now,
        )
    )  # fmt: skip


async def active(session: AsyncSession) -> list[Subscriber]:
    """Every active subscriber, oldest first."""
    rows = await session.scalars(select(SubscriberRow).where(_ACTIVE).order_by(SubscriberRow.id))
    return [_subscriber(row) for row in rows]


async def dm_recipients(session: AsyncSession) -> list[Subscriber]:
    """Active subscribers who chose DM delivery and whose DM was not found gone."""
    rows = await session.scalars(
        select(SubscriberRow)
        .where(
            _ACTIVE,
            SubscriberRow.dm_delivery.is_(True),
            SubscriberRow.dm_room_id.is_not(None),
            SubscriberRow.user_id.is_not(None),
            SubscriberRow.dm_unreachable_at.is_(None),
        )
        .order_by(SubscriberRow.id)
    )
    return [_subscriber(row) for row in rows]


async def counts(session: AsyncSession) -> Counts:
    """Active subscribers, those with DM delivery, and those whose DM was found gone."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(SubscriberRow.dm_delivery.is_(True)),
                func.count().filter(SubscriberRow.dm_unreachable_at.is_not(None)),
            ).where(_ACTIVE)
        )
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]))


# --- offers --------------------------------------------------------------------------------------


async def put_offer(session: AsyncSession, offer: Offer) -> None:
    """Replace the member's pending offer with ``offer``."""
    await forget_offer(session, offer.user_id)
    session.add(
        SubscriptionOfferRow(
            user_id=offer.user_id, room_id=offer.room_id, candidates=list(offer.candidates),
            language=offer.language, outbox_id=offer.outbox_id, created_at=offer.created_at,
        )
    )  # fmt: skip
    await session.flush()


async def offer_for(session: AsyncSession, user_id: str) -> Offer | None:
    row = await session.get(SubscriptionOfferRow, user_id)
    if row is None:
        return None
    return Offer(
        row.user_id, row.room_id, tuple(row.candidates), row.language, row.outbox_id,
        row.created_at,
    )  # fmt: skip


async def forget_offer(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        delete(SubscriptionOfferRow).where(SubscriptionOfferRow.user_id == user_id)
    )


async def forget_offers_before(session: AsyncSession, cutoff: datetime) -> int:
    """Drop offers older than ``cutoff`` (the addresses they hold included); how many."""
    result = await session.execute(
        delete(SubscriptionOfferRow).where(SubscriptionOfferRow.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
