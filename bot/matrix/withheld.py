"""Room keys members' clients refuse to share with the bot (``m.room_key.withheld``).

Each one is logged (room, sender, device, code) and counted; the member is told by the callback
(once: see ``bot.services.key_notices``). Clients that exclude devices their owner did not sign,
or that send only to devices the member verified, answer the bot this way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from nio import AsyncClient, UnknownToDeviceEvent

from bot.metrics import Metrics
from bot.supervise import TaskSet
from bot.trust import KeyWithheld

log = logging.getLogger(__name__)

WITHHELD = "m.room_key.withheld"


class WithheldKeys:
    """Watches the to-device events for withheld room keys."""

    def __init__(
        self,
        client: AsyncClient,
        metrics: Metrics,
        tell: Callable[[KeyWithheld], Coroutine[Any, Any, None]],
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.tell = tell
        self.tasks = TaskSet()
        self._senders: set[str] = set()
        client.add_to_device_callback(self._on_event, UnknownToDeviceEvent)

    def withholds(self, user_id: str) -> bool:
        """Whether ``user_id``'s client withheld a key from the bot since it started."""
        return user_id in self._senders

    async def _on_event(self, event: UnknownToDeviceEvent) -> None:
        if event.type != WITHHELD:
            return
        notice = self._notice(event.sender, event.source.get("content") or {})
        log.warning(
            "room key withheld from the bot by %s (device %s) in %s: %s",
            notice.sender, notice.device_id, notice.room_id, notice.code,
        )  # fmt: skip
        self.metrics.key_withheld(notice.code)
        if notice.sender == self.client.user_id:
            return  # another device of the bot's own account: nobody to tell
        self._senders.add(notice.sender)
        # Telling may open a DM, which waits for a sync: never inside the sync's callback.
        self.tasks.spawn(self.tell(notice), name=f"withheld:{notice.sender}")

    def _notice(self, sender: str, content: dict[str, Any]) -> KeyWithheld:
        room_id = content.get("room_id")
        room = self.client.rooms.get(room_id) if isinstance(room_id, str) else None
        device = content.get("from_device") or self._device(sender, content.get("sender_key"))
        return KeyWithheld(
            sender=sender,
            device_id=str(device) if device else None,
            room_id=room_id if isinstance(room_id, str) else None,
            room_name=room.display_name if room is not None else None,
            code=str(content.get("code") or "unknown")[:64],
        )

    def _device(self, user_id: str, curve_key: Any) -> str | None:
        """The device of ``user_id`` whose identity key is ``curve_key``, if known."""
        if not isinstance(curve_key, str) or self.client.olm is None:
            return None
        for device in self.client.device_store.active_user_devices(user_id):
            if device.curve25519 == curve_key:
                return str(device.device_id)
        return None

    async def stop(self) -> None:
        await self.tasks.drain(timeout=5)
