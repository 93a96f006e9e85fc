"""Newsletter subscriptions: address offers and consent in the DM, preferences, real erasure.

Addresses are only ever written to the member's DM; what goes to a room never holds one, and
the log only ever names subscribers by their row id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import markup
from bot.clock import Clock
from bot.errors import DeliveryError, UserError
from bot.i18n import Catalogue, catalogue
from bot.messages import FileDrop, IncomingMessage, Mentions, Message, Postbox, ReplyTo
from bot.services.dates import Dates
from bot.services.subscriptions.addresses import candidates_for, domain_of, name_for
from bot.services.subscriptions.dm import Correspondent, DirectChats, Where, in_dm, reach
from bot.services.subscriptions.grist import export_document
from bot.services.subscriptions.replies import Reply
from bot.storage import outbox
from bot.storage import subscriptions as store
from bot.storage.db import Database
from bot.storage.subscriptions import TCHAP, Contact, Offer, Subscriber

log = logging.getLogger(__name__)

# Bump when the consent wording (catalogue key subscriptions.consent) changes in substance.
CONSENT_VERSION = "2026-11-v1"
OFFER_LIFETIME = timedelta(days=7)


class Subscriptions:
    """Everything a member or organiser does about the newsletter list."""

    def __init__(
        self,
        db: Database,
        postbox: Postbox,
        clock: Clock,
        *,
        direct: DirectChats,
        files: FileDrop,
        prefix: str,
        tz: ZoneInfo,
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.clock = clock
        self.direct = direct
        self.files = files
        self.prefix = prefix
        self.tz = tz

    # --- where to talk to the member -------------------------------------------------------------

    def in_dm(
        self, room_id: str, user_id: str, t: Catalogue, answer_to: ReplyTo | None
    ) -> Correspondent | None:
        """The member, when ``room_id`` is their private conversation with the bot; else None."""
        return in_dm(self.direct, room_id, user_id, t, answer_to)

    async def reach(self, message: IncomingMessage, t: Catalogue, *, open_dm: bool = True) -> Where:
        """The sender's DM: this room if it is one, else theirs, reused or created (network)."""
        return await reach(self.direct, message, t, open_dm=open_dm)

    async def _say(self, session: AsyncSession, who: Correspondent, text: str) -> int:
        """Write ``text`` in the member's DM (replying to them when they wrote there)."""
        message = Message(who.dm_room_id, text, markup.lines(text), who.reply_to, Mentions())
        return await self.postbox.post(session, message)

    # --- signing up ------------------------------------------------------------------------------

    async def offer(self, session: AsyncSession, who: Correspondent) -> None:
        """Propose the address the Tchap id encodes (or ask for one), with the consent text."""
        current = await store.by_user(session, who.user_id)
        if current is not None and current.email:
            text = who.t("subscriptions.already", address=current.email, prefix=self.prefix)
            await self._say(session, who, text)
            return
        now = self.clock.now()
        await store.forget_offers_before(session, now - OFFER_LIFETIME)  # their addresses too
        candidates = tuple(candidates_for(who.user_id))
        outbox_id = await self._say(session, who, self._proposal(who.t, candidates))
        offer = Offer(who.user_id, who.dm_room_id, candidates, who.t.language, outbox_id, now)
        await store.put_offer(session, offer)
        log.info("subscription offer in %s (%d candidates)", who.dm_room_id, len(candidates))

    def _proposal(self, t: Catalogue, candidates: tuple[str, ...]) -> str:
        consent = t("subscriptions.consent", prefix=self.prefix)
        if len(candidates) == 1:
            ask = t("subscriptions.propose_one", address=candidates[0], prefix=self.prefix)
        elif candidates:
            choices = "\n".join(f"{n}. {address}" for n, address in enumerate(candidates, 1))
            ask = t("subscriptions.propose_many", choices=choices, prefix=self.prefix)
        else:
            ask = t("subscriptions.ask_address", prefix=self.prefix)
        return f"{t('subscriptions.hello')}\n\n{consent}\n\n{ask}"

    async def subscribe(self, session: AsyncSession, who: Correspondent, address: str) -> None:
        """Subscribe the member with ``address`` (given or confirmed in the DM), consent now."""
        now = self.clock.now()
        contact = Contact(address, name_for(address, who.display_name), domain_of(address))
        subscriber_id, dm = await self._store(session, who, contact, now)
        await store.forget_offer(session, who.user_id)
        key = "subscriptions.done_dm" if dm else "subscriptions.done"
        await self._say(session, who, who.t(key, address=address, prefix=self.prefix))
        log.info("subscriber %d: subscribed in %s (consent %s)", subscriber_id, who.dm_room_id,
                 CONSENT_VERSION)  # fmt: skip

    async def _store(
        self, session: AsyncSession, who: Correspondent, contact: Contact, now: datetime
    ) -> tuple[int, bool]:
        """Write the subscription; the row id and whether newsletters go by DM."""
        current = await store.by_user(session, who.user_id)
        holder = await store.by_email(session, contact.email)
        if holder is not None and holder.user_id not in (None, who.user_id):
            raise UserError("subscriptions.address_taken")
        if current is not None and holder is not None and holder.id != current.id:
            await store.erase(session, holder.id, now)  # the imported row joins the member's
            await session.flush()
        target = current or holder
        if target is None:
            created = await store.add(
                session, contact=contact, source=TCHAP, now=now, user_id=who.user_id,
                consent_version=CONSENT_VERSION, dm_room_id=who.dm_room_id,
            )  # fmt: skip
            return created.id, True
        await store.update_contact(
            session, target.id, contact=contact, user_id=who.user_id,
            consent_version=CONSENT_VERSION, now=now,
        )  # fmt: skip
        if target is holder and current is None:  # an imported address claimed by its member
            await store.set_dm(session, target.id, room_id=who.dm_room_id, now=now)
            return target.id, True
        return target.id, target.dm_delivery

    async def answer(self, session: AsyncSession, who: Correspondent, reply: Reply) -> bool:
        """Act on a plain DM reply to the member's pending offer; False when there is none."""
        offer = await self._live_offer(session, who)
        if offer is None:
            return False
        t = catalogue(offer.language)
        who = Correspondent(who.user_id, who.dm_room_id, who.display_name, t, who.reply_to)
        choice = _chosen(reply, offer.candidates)
        if choice is not None:
            await self.subscribe(session, who, choice)
        else:
            await self._say(session, who, self._clarify(t, reply, offer.candidates))
        return True

    async def react(self, session: AsyncSession, who: Correspondent, reacts_to: str) -> bool:
        """A 👍 on the member's offer confirms it; False when it reacts to something else."""
        offer = await self._live_offer(session, who)
        if offer is None or offer.outbox_id is None:
            return False
        proposal = await outbox.get(session, offer.outbox_id)
        if proposal is None or proposal.event_id != reacts_to:
            return False
        return await self.answer(session, who, Reply("yes"))

    async def _live_offer(self, session: AsyncSession, who: Correspondent) -> Offer | None:
        offer = await store.offer_for(session, who.user_id)
        if offer is None or offer.room_id != who.dm_room_id:
            return None
        if self.clock.now() - offer.created_at > OFFER_LIFETIME:
            await store.forget_offer(session, who.user_id)
            return None
        return offer

    def _clarify(self, t: Catalogue, reply: Reply, candidates: tuple[str, ...]) -> str:
        """What to say to a reply that chose nothing."""
        if reply.kind == "no":
            return t("subscriptions.declined", prefix=self.prefix)
        if not candidates:
            return t("subscriptions.ask_address", prefix=self.prefix)
        return t("subscriptions.pick_number", count=len(candidates), prefix=self.prefix)

    # --- managing --------------------------------------------------------------------------------

    async def describe(self, session: AsyncSession, who: Correspondent) -> None:
        """Tell the member, in their DM, everything stored about them."""
        current = await store.by_user(session, who.user_id)
        if current is None:
            await self._say(session, who, who.t("subscriptions.none", prefix=self.prefix))
            return
        await self._say(session, who, self._stored(who.t, current))

    def _stored(self, t: Catalogue, current: Subscriber) -> str:
        dates = Dates(t, self.tz)
        dm_key = "subscriptions.dm_on" if current.dm_delivery else "subscriptions.dm_off"
        if current.dm_delivery and current.dm_unreachable_at is not None:
            dm_key = "subscriptions.dm_unreachable"
        return t(
            "subscriptions.stored",
            address=current.email or "",
            name=current.name or "",
            user_id=current.user_id or "",
            consent=dates.moment(current.consent_at),
            version=current.consent_version or "",
            dm=t(dm_key, prefix=self.prefix),
            prefix=self.prefix,
        )

    async def set_dm(self, session: AsyncSession, who: Correspondent, wanted: bool) -> Subscriber:
        """Turn delivery by DM on (to the member's DM) or off; UserError if not subscribed."""
        current = await store.by_user(session, who.user_id)
        if current is None:
            raise UserError("subscriptions.not_subscribed", prefix=self.prefix)
        room_id = who.dm_room_id if wanted else None
        await store.set_dm(session, current.id, room_id=room_id, now=self.clock.now())
        log.info("subscriber %d: delivery by DM %s", current.id, "on" if wanted else "off")
        return current

    async def unsubscribe(self, session: AsyncSession, user_id: str) -> bool:
        """Erase the member's address and preferences; whether there was anything to erase."""
        await store.forget_offer(session, user_id)
        current = await store.by_user(session, user_id)
        if current is None:
            return False
        await store.erase(session, current.id, self.clock.now())
        log.info("subscriber %d: unsubscribed, personal fields erased", current.id)
        return True

    async def counts(self, session: AsyncSession) -> store.Counts:
        return await store.counts(session)

    async def export(self, session: AsyncSession, who: Correspondent, now: datetime) -> int:
        """The list as a CSV file in the organiser's DM; how many subscribers it holds.

        A short read of its own, then the upload (network), and only then ``session``, which
        has held no connection meanwhile."""
        async with self.db.session() as reading:
            subscribers = await store.active(reading)
        document = export_document(subscribers, self.tz, now)
        try:
            uploaded = await self.files.upload(who.dm_room_id, document)
        except DeliveryError as error:
            log.warning("export upload to %s failed: %s", who.dm_room_id, error)
            raise UserError("subscriptions.export_failed") from error
        await self.files.post(session, uploaded)
        log.info("export of %d subscribers queued for %s", len(subscribers), who.dm_room_id)
        return len(subscribers)


def _chosen(reply: Reply, candidates: tuple[str, ...]) -> str | None:
    """The address a reply settles on, if it settles on one."""
    if reply.kind == "address":
        return reply.address
    if reply.kind == "yes" and len(candidates) == 1:
        return candidates[0]
    if reply.kind == "number" and 1 <= reply.number <= len(candidates):
        return candidates[reply.number - 1]
    return None
