"""Files sent to a room: uploaded first (encrypted for an encrypted room), then an ``m.file``
event queued through the outbox like any other message."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, UploadResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import TransientDeliveryError
from bot.matrix.postbox import MatrixPostbox
from bot.matrix.render import EVENT_TYPE
from bot.matrix.transport import homeserver_errors
from bot.messages import Document, Uploaded

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class UploadedFile:
    """A document stored on the homeserver, and the event content that shows it in its room."""

    room_id: str
    content: dict[str, Any]


def file_content(document: Document, url: str, keys: dict[str, Any] | None) -> dict[str, Any]:
    """An ``m.file`` message: ``url`` in the clear, or inside ``file`` with its keys."""
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": document.filename,
        "filename": document.filename,
        "info": {"mimetype": document.mimetype, "size": len(document.data)},
        "m.mentions": {},
    }
    if keys is None:
        content["url"] = url
    else:
        content["file"] = {**keys, "url": url, "mimetype": document.mimetype}
    return content


class MatrixFiles:
    """Uploads documents for a room and posts them there through the outbox."""

    def __init__(self, client: AsyncClient, postbox: MatrixPostbox) -> None:
        self.client = client
        self.postbox = postbox

    async def upload(self, room_id: str, document: Document) -> UploadedFile:
        """Store the document (encrypted when the room is); network I/O, no database."""
        room = self.client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted)
        with homeserver_errors():
            async with asyncio.timeout(UPLOAD_TIMEOUT_SECONDS):
                response, keys = await self.client.upload(
                    io.BytesIO(document.data),
                    content_type=document.mimetype,
                    filename=document.filename,
                    encrypt=encrypt,
                    filesize=len(document.data),
                )
        if not isinstance(response, UploadResponse):
            raise TransientDeliveryError(f"upload refused: {response}")
        log.info("uploaded %d bytes for %s (encrypted: %s)", len(document.data), room_id, encrypt)
        return UploadedFile(room_id, file_content(document, response.content_uri, keys))

    async def post(
        self, session: AsyncSession, uploaded: Uploaded, *, private_for: str | None = None
    ) -> int:
        """Queue the file's event in the caller's unit of work."""
        assert isinstance(uploaded, UploadedFile)
        return await self.postbox.post_event(
            session, uploaded.room_id, EVENT_TYPE, uploaded.content, private_for=private_for
        )
