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
from bot.storage.outbox import OutboxEntry

_COMMITTED = "ssphub.outbox.committed"


class MatrixPostbox:
    """Queues messages in the caller's unit of work; the sender is woken once it commits."""

    def __init__(self, clock: Clock, sender: Sender | None) -> None:
        self.clock = clock
        self.sender = sender
        self._redirects: dict[str, str] | None = None

    def room_upgraded(self, old_room_id: str, new_room_id: str) -> None:
        """Send what is meant for ``old_room_id`` to ``new_room_id`` from now on."""
        if self._redirects is not None:
            self._redirects[old_room_id] = new_room_id

    async def post(
        self, session: AsyncSession, message: Message, *, dedupe_key: str | None = None
    ) -> int:
        if self._redirects is None:  # read once; later upgrades arrive via room_upgraded()
            self._redirects = await state.redirects(session)
        room_id = state.follow(self._redirects, message.room_id)
        event_type, content = render(message)
        entry = await outbox.enqueue(
            session,
            room_id=room_id,
            event_type=event_type,
            content=content,
            now=self.clock.now(),
            dedupe_key=dedupe_key,
        )
        if entry.created:
            self._submit_after_commit(session, entry)
        return entry.id

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
