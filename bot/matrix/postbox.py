"""The services' way to send: render the message, write the outbox row, wake the sender."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as SyncSession

from bot.clock import Clock
from bot.matrix.render import render
from bot.matrix.sender import Sender
from bot.messages import Message
from bot.storage import outbox, state


class MatrixPostbox:
    """Queues messages in the caller's unit of work; the sender is woken once it commits."""

    def __init__(self, clock: Clock, sender: Sender | None) -> None:
        self.clock = clock
        self.sender = sender

    async def post(
        self, session: AsyncSession, message: Message, *, dedupe_key: str | None = None
    ) -> int:
        room_id = await state.resolve_room(session, message.room_id)
        event_type, content = render(message)
        entry = await outbox.enqueue(
            session,
            room_id=room_id,
            event_type=event_type,
            content=content,
            now=self.clock.now(),
            dedupe_key=dedupe_key,
        )
        self._wake_after_commit(session)
        return entry.id

    def _wake_after_commit(self, session: AsyncSession) -> None:
        sender = self.sender
        if sender is None:
            return

        def wake(_session: SyncSession) -> None:
            sender.wake()

        event.listen(session.sync_session, "after_commit", wake, once=True)
