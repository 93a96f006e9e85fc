"""The sending edge, where every message enters: rendered for Matrix, written to the outbox in
the caller's unit of work (to the room an upgraded room became), handed to the sender on commit.

The sender (``bot.matrix.sender``) is where every message leaves; nothing else sends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.orm import SessionTransaction

from bot.clock import Clock
from bot.matrix.render import render
from bot.matrix.sender import Draft, Sender
from bot.messages import Message, next_answer
from bot.storage import outbox
from bot.storage.outbox import OutboxEntry

_COMMITTED = "ssphub.outbox.committed"
_ANSWERS = "ssphub.outbox.answers"


class Redirects(Protocol):
    """Where a message for a room goes now that rooms may have been upgraded (``HubRooms``)."""

    async def follow(self, session: AsyncSession, room_id: str) -> str: ...


class MatrixPostbox:
    """Queues messages in the caller's unit of work; the sender is woken once it commits (no
    sender: the rows wait for the next start, as in tests that read the outbox).

    An answer to a member's event gets a transaction id derived from that event and the bot's
    ``device_id``: handled again after a crash, the event gets the same answer, once."""

    def __init__(
        self, clock: Clock, sender: Sender | None, redirects: Redirects, device_id: str = ""
    ) -> None:
        self.clock = clock
        self.sender = sender
        self.redirects = redirects
        self.device_id = device_id

    async def post(
        self,
        session: AsyncSession,
        message: Message,
        *,
        dedupe_key: str | None = None,
        bulk: bool = False,
    ) -> int:
        event_type, content = render(message)
        return await self.post_event(
            session, message.room_id, event_type, content, dedupe_key=dedupe_key, bulk=bulk,
            private_for=message.private_for,
        )  # fmt: skip

    async def post_event(
        self,
        session: AsyncSession,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        *,
        dedupe_key: str | None = None,
        bulk: bool = False,
        private_for: str | None = None,
    ) -> int:
        """Queue ready event content (a file, for instance); the outbox id. A private message
        goes to the room itself: a DM is never an upgraded hub room."""
        if private_for is None:
            room_id = await self.redirects.follow(session, room_id)
        entry = await outbox.enqueue(
            session,
            room_id=room_id,
            event_type=event_type,
            content=content,
            now=self.clock.now(),
            dedupe_key=dedupe_key,
            bulk=bulk,
            private_for=private_for,
            txn_id=self._answer_txn_id(session),
        )
        if entry.created:
            self._submit_after_commit(session, entry)
        return entry.id

    async def post_many(
        self,
        session: AsyncSession,
        messages: Sequence[tuple[Message, str]],
        *,
        bulk: bool = False,
    ) -> dict[str, int]:
        """Queue many messages, each with its dedupe key, in a few statements; the outbox ids
        of those written now, by key (a key used before writes nothing)."""
        rows = []
        for message, key in messages:
            event_type, content = render(message)
            room_id = message.room_id
            if message.private_for is None:
                room_id = await self.redirects.follow(session, room_id)
            rows.append(outbox.NewRow(room_id, event_type, content, key, message.private_for))
        written = await outbox.enqueue_many(session, rows, now=self.clock.now(), bulk=bulk)
        for entry in written:
            self._submit_after_commit(session, entry)
        return {str(entry.dedupe_key): entry.id for entry in written}

    async def answer(self, session: AsyncSession, message: Message) -> None:
        """Hold an answer until the handler is done (``release_answers``); a private one, or
        one outside a unit answering an event, is queued at once like any message."""
        if message.private_for is not None or self.sender is None:
            await self.post(session, message)
            return
        answered = next_answer(session)
        if answered is None:
            await self.post(session, message)
            return
        event_type, content = render(message)
        room_id = await self.redirects.follow(session, message.room_id)
        txn_id = outbox.answer_txn_id(self.device_id, *answered)
        session.info.setdefault(_ANSWERS, []).append(Draft(room_id, event_type, content, txn_id))

    async def release_answers(self, session: AsyncSession, *, early: bool) -> None:
        """Write the held answers; with ``early``, and when the sender may send them now, they
        are PUT first, the rows written and committed meanwhile, and marked sent after both."""
        drafts: list[Draft] = session.info.pop(_ANSWERS, [])
        if not drafts:
            return
        launched = self.sender.send_early(drafts) if early and self.sender else None
        entries = [await self._write(session, draft) for draft in drafts]
        if launched is None:
            for entry in entries:
                if entry.created:
                    self._submit_after_commit(session, entry)
            return
        _settle_after_commit(session, launched, entries)

    async def _write(self, session: AsyncSession, draft: Draft) -> OutboxEntry:
        return await outbox.enqueue(
            session, room_id=draft.room_id, event_type=draft.event_type,
            content=draft.content, now=self.clock.now(), txn_id=draft.txn_id,
        )  # fmt: skip

    def _answer_txn_id(self, session: AsyncSession) -> str | None:
        """A transaction id derived from the event this unit of work answers, if any."""
        answered = next_answer(session)
        if answered is None:
            return None
        return outbox.answer_txn_id(self.device_id, *answered)

    def _submit_after_commit(self, session: AsyncSession, entry: OutboxEntry) -> None:
        """Hand the new rows to the sender once, and only if, the unit of work commits."""
        sender = self.sender
        if sender is None:
            return
        committed: list[OutboxEntry] = session.info.setdefault(_COMMITTED, [])
        committed.append(entry)
        if len(committed) > 1:
            return  # the listeners below are already in place for this unit of work

        def submit(sync_session: SyncSession) -> None:
            sender.submit(sync_session.info.pop(_COMMITTED, []))

        def forget(sync_session: SyncSession, _previous: object) -> None:
            sync_session.info.pop(_COMMITTED, None)

        event.listen(session.sync_session, "after_commit", submit, once=True)
        event.listen(session.sync_session, "after_soft_rollback", forget, once=True)


def _settle_after_commit(
    session: AsyncSession,
    rows: asyncio.Future[list[OutboxEntry] | None],
    entries: list[OutboxEntry],
) -> None:
    """Tell the early send the rows once the unit of work committed, or None if it did not."""

    def committed(_sync_session: SyncSession) -> None:
        if not rows.done():
            rows.set_result(entries)

    def ended(_sync_session: SyncSession, transaction: SessionTransaction) -> None:
        if not transaction.nested and not rows.done():
            rows.set_result(None)  # rolled back, or closed without a commit

    event.listen(session.sync_session, "after_commit", committed, once=True)
    event.listen(session.sync_session, "after_transaction_end", ended)
