"""Newsletter subscriptions: address offers and consent in the DM, preferences, real erasure.

Addresses are only ever written to the member's DM (every such message is private to them, so
the sending edge delivers it nowhere else); what goes to a room never holds one, and the log
only ever names subscribers by their row id. No answer depends on whether another account
already gave an address: an address the Tchap id does not encode is confirmed by a code mailed
to it, or kept as unconfirmed when no mail server is configured.
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
from bot.services.subscriptions import texts
from bot.services.subscriptions.addresses import candidates_for, domain_of, name_for
from bot.services.subscriptions.confirm import AddressConfirmation, Outcome
from bot.services.subscriptions.dm import Correspondent, DirectChats, Where, in_dm, reach
from bot.services.subscriptions.replies import Reply, chosen_address
from bot.storage import address_checks, outbox
from bot.storage import subscriptions as store
from bot.storage.db import Database, erasing
from bot.storage.subscriptions import (
    CONFIRMED,
    MATCHES_ID,
    TCHAP,
    UNCONFIRMED,
    Contact,
    Offer,
)

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
        confirmation: AddressConfirmation | None = None,
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.clock = clock
        self.direct = direct
        self.files = files
        self.prefix = prefix
        self.tz = tz
        self.confirmation = confirmation  # None: no mail server, addresses stay unconfirmed

    # --- where to talk to the member -------------------------------------------------------------

    async def in_dm(
        self, room_id: str, user_id: str, t: Catalogue, answer_to: ReplyTo | None
    ) -> Correspondent | None:
        """The member, when ``room_id`` is their private conversation with the bot; else None."""
        return await in_dm(self.direct, room_id, user_id, t, answer_to)

    async def reach(self, message: IncomingMessage, t: Catalogue) -> Where:
        """The sender's DM: this room if it is one, else theirs, reused or created (network)."""
        return await reach(self.direct, message, t)

    async def _say(self, session: AsyncSession, who: Correspondent, text: str) -> int:
        """Write ``text`` in the member's DM (replying to them when they wrote there): private
        to them, so it is delivered only while that room is their true DM."""
        message = Message(
            who.dm_room_id, text, markup.lines(text), who.reply_to, Mentions(),
            private_for=who.user_id,
        )  # fmt: skip
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
        outbox_id = await self._say(session, who, texts.proposal(who.t, self.prefix, candidates))
        offer = Offer(who.user_id, who.dm_room_id, candidates, who.t.language, outbox_id, now)
        await store.put_offer(session, offer)
        log.info("subscription offer in %s (%d candidates)", who.dm_room_id, len(candidates))

    async def subscribe(self, session: AsyncSession, who: Correspondent, address: str) -> None:
        """Subscribe the member with ``address`` (given or chosen in the DM), consent now: at
        once when their Tchap id encodes it, else once the code mailed to it comes back, or as
        unconfirmed without a mail server. The answer never depends on who else gave it.

        Mailing comes first: ``session`` holds no connection while the mail server answers."""
        if address in candidates_for(who.user_id):
            await self._subscribe(session, who, address, MATCHES_ID)
        elif self.confirmation is None:
            await self._subscribe(session, who, address, UNCONFIRMED)
        else:
            await self._mail_code(session, who, address, self.confirmation)

    async def _mail_code(
        self, session: AsyncSession, who: Correspondent, address: str, by: AddressConfirmation
    ) -> None:
        """Mail a code to ``address`` and tell the member to type it in the DM."""
        code = await by.mail_code(who.user_id, address, who.t)
        now = self.clock.now()
        if code is None:
            await self._say(session, who, who.t("subscriptions.code_not_sent", address=address))
            return
        check = by.check_for(who.user_id, who.dm_room_id, address, who.t, now)
        await by.remember(session, check, code, now)
        text = who.t("subscriptions.code_sent", address=address, minutes=by.minutes)
        await self._say(session, who, text)
        log.info("address confirmation code mailed for a subscription in %s", who.dm_room_id)

    async def _subscribe(
        self, session: AsyncSession, who: Correspondent, address: str, status: str
    ) -> None:
        """Store the subscription with ``address``, known as ``status``, and say so."""
        now = self.clock.now()
        contact = Contact(address, name_for(address, who.display_name), domain_of(address), status)
        subscriber_id, dm = await self._store(session, who, contact, now)
        await store.forget_offer(session, who.user_id)
        text = texts.done(who.t, self.prefix, address, by_dm=dm, status=status)
        await self._say(session, who, text)
        log.info("subscriber %d: subscribed in %s (consent %s, address %s)", subscriber_id,
                 who.dm_room_id, CONSENT_VERSION, status)  # fmt: skip

    async def _store(
        self, session: AsyncSession, who: Correspondent, contact: Contact, now: datetime
    ) -> tuple[int, bool]:
        """Write the subscription; the row id and whether newsletters go by DM. A proven
        address takes over the imported row holding it; other holders are left alone."""
        current = await store.by_user(session, who.user_id)
        imported = None
        if contact.status != UNCONFIRMED:
            holders = await store.with_email(session, contact.email)
            imported = next((h for h in holders if h.user_id is None), None)
        if current is not None and imported is not None:
            await store.erase(session, imported.id, now)  # the imported row joins the member's
            await session.flush()
            imported = None
        target = current or imported
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
        if target is imported:  # an imported address claimed by its member
            await store.set_dm(session, target.id, room_id=who.dm_room_id, now=now)
            return target.id, True
        return target.id, target.dm_delivery

    async def answer(self, session: AsyncSession, who: Correspondent, reply: Reply) -> bool:
        """Act on a plain DM reply: a code for the member's pending address check, or an answer
        to their pending offer; False when nothing waits for it.

        The offer is read in a short unit of its own: answering may mail a code, and
        ``session`` must hold no connection meanwhile."""
        if reply.kind == "code":
            return await self.confirm(session, who, reply.code)
        async with self.db.session() as reading:
            offer = await self._live_offer(reading, who)
        if offer is None:
            return False
        t = catalogue(offer.language)
        who = Correspondent(who.user_id, who.dm_room_id, who.display_name, t, who.reply_to)
        choice = chosen_address(reply, offer.candidates)
        if choice is not None:
            await self.subscribe(session, who, choice)
        else:
            await self._say(session, who, texts.clarify(t, self.prefix, reply, offer.candidates))
        return True

    async def react(self, session: AsyncSession, who: Correspondent, reacts_to: str) -> bool:
        """A 👍 on the member's offer confirms it; False when it reacts to something else.
        (Read in a short unit of its own, as ``answer`` does.)"""
        async with self.db.session() as reading:
            offer = await self._live_offer(reading, who)
            if offer is None or offer.outbox_id is None:
                return False
            proposal = await outbox.get(reading, offer.outbox_id)
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

    async def confirm(self, session: AsyncSession, who: Correspondent, code: str) -> bool:
        """The code the member typed in the DM for their pending address; False when no check
        waits for it there."""
        if self.confirmation is None:
            return False
        now = self.clock.now()
        checked = await self.confirmation.verify(session, who.user_id, who.dm_room_id, code, now)
        if checked is None:
            return False
        check = checked.check
        t = catalogue(check.language)
        who = Correspondent(who.user_id, who.dm_room_id, who.display_name, t, who.reply_to)
        if checked.outcome is Outcome.CONFIRMED:
            await self._subscribe(session, who, check.email, CONFIRMED)
        else:
            await self._say(session, who, texts.not_confirmed(t, self.prefix, checked))
        return True

    # --- managing --------------------------------------------------------------------------------

    async def describe(self, session: AsyncSession, who: Correspondent) -> None:
        """Tell the member, in their DM, everything stored about them."""
        current = await store.by_user(session, who.user_id)
        if current is None:
            await self._say(session, who, who.t("subscriptions.none", prefix=self.prefix))
            return
        await self._say(session, who, texts.stored(who.t, self.prefix, self.tz, current))

    async def set_dm(self, session: AsyncSession, who: Correspondent, wanted: bool) -> None:
        """Turn delivery by DM on (to the member's DM) or off, and say so in the DM."""
        current = await store.by_user(session, who.user_id)
        if current is None:
            await self._say(session, who, who.t("subscriptions.not_subscribed", prefix=self.prefix))
            return
        room_id = who.dm_room_id if wanted else None
        await store.set_dm(session, current.id, room_id=room_id, now=self.clock.now())
        key = "subscriptions.dm_set_on" if wanted else "subscriptions.dm_set_off"
        await self._say(session, who, who.t(key, prefix=self.prefix))
        log.info("subscriber %d: delivery by DM %s", current.id, "on" if wanted else "off")

    async def unsubscribe(self, user_id: str) -> None:
        """Erase everything kept about the member: the subscription's personal fields, pending
        offers and address checks, and their private messages in the outbox (those still
        waiting are cancelled). A unit of work of its own, committed (and SQLite's log emptied)
        before the caller answers: the answer never goes out before the data is gone."""
        async with self.db.session() as session:
            erasing(session)
            await store.forget_offer(session, user_id)
            await address_checks.forget(session, user_id)
            cancelled = await outbox.erase_member(session, user_id)
            current = await store.by_user(session, user_id)
            if current is not None:
                await store.erase(session, current.id, self.clock.now())
        if current is not None or cancelled:
            log.info("subscriber %s: unsubscribed, personal data erased (%d message(s) cancelled)",
                     current.id if current else "-", cancelled)  # fmt: skip

    async def counts(self, session: AsyncSession) -> store.Counts:
        return await store.counts(session)

    async def export(self, session: AsyncSession, who: Correspondent, now: datetime) -> int:
        """The list as a CSV file in the organiser's DM; how many subscribers it holds.

        A short read of its own, then the upload (network), and only then ``session``, which
        has held no connection meanwhile."""
        async with self.db.session() as reading:
            subscribers = await store.active(reading)
        from bot.services.subscriptions.grist import export_document  # CSV: on demand only

        document = export_document(subscribers, self.tz, now)
        try:
            uploaded = await self.files.upload(who.dm_room_id, document)
        except DeliveryError as error:
            log.warning("export upload to %s failed: %s", who.dm_room_id, error)
            raise UserError("subscriptions.export_failed") from error
        await self.files.post(session, uploaded, private_for=who.user_id)
        log.info("export of %d subscribers queued for %s", len(subscribers), who.dm_room_id)
        return len(subscribers)
