"""Translation of nio's incoming events into the bot's protocol-neutral ``IncomingMessage``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nio import MatrixRoom

from bot.messages import IncomingMessage, IncomingReaction
from bot.untrusted import clean_text

# Relations a message may carry and still be read as a command: a reply has no ``rel_type``.
COMMAND_RELATIONS = frozenset({None, "m.thread"})


def utc_from_ms(timestamp_ms: int) -> datetime:
    """A Matrix origin_server_ts as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def thread_root(source: dict[str, Any]) -> str | None:
    """The thread an event belongs to, if it was sent in one."""
    relation = source.get("content", {}).get("m.relates_to") or {}
    if relation.get("rel_type") == "m.thread":
        root = relation.get("event_id")
        return str(root) if root else None
    return None


def may_command(source: dict[str, Any]) -> bool:
    """Whether an event may be read as something a member asks: a plain message, a reply or
    a message in a thread. An edit (``m.replace``, or any ``m.new_content``) or any other
    relation never is, whatever its fallback text says."""
    content = source.get("content") or {}
    if not isinstance(content, dict) or "m.new_content" in content:
        return False
    relation = content.get("m.relates_to")
    if relation is None:
        return True
    return isinstance(relation, dict) and relation.get("rel_type") in COMMAND_RELATIONS


def is_direct(room: MatrixRoom) -> bool:
    """A room of two members (the bot and one person) is treated as a direct conversation."""
    return bool(room.member_count <= 2)


def to_incoming(
    room: MatrixRoom, event: Any, *, direct: bool, body: str | None = None
) -> IncomingMessage:
    """The domain view of a room message event."""
    source = event.source or {}
    return IncomingMessage(
        room_id=room.room_id,
        event_id=event.event_id,
        sender=event.sender,
        body=clean_text(event.body if body is None else body),
        sent_at=utc_from_ms(event.server_timestamp),
        thread_root=thread_root(source),
        is_direct=direct,
    )


def to_reaction(room: MatrixRoom, event: Any) -> IncomingReaction:
    """The domain view of an ``m.reaction`` (an ``m.annotation`` of another event)."""
    return IncomingReaction(
        room_id=room.room_id,
        event_id=event.event_id,
        sender=event.sender,
        reacts_to=event.reacts_to,
        key=clean_text(event.key),
        sent_at=utc_from_ms(event.server_timestamp),
    )
