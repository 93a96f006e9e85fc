"""Turns a domain ``Message`` into Matrix event content: m.notice, safe HTML, explicit mentions."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import nh3

from bot.messages import Message

log = logging.getLogger(__name__)

EVENT_TYPE = "m.room.message"
DATA_KEY = "org.ssphub.bot"
MAX_CONTENT_BYTES = 60_000  # the spec caps events at 65,536 bytes, envelope included

# The HTML subset the Matrix client-server spec recommends clients render.
ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
    "sup", "sub", "li", "b", "i", "u", "strong", "em", "s", "code", "hr", "br", "div",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details", "summary",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "target"},
    "span": {"data-mx-color", "data-mx-bg-color"},
    "font": {"data-mx-color", "data-mx-bg-color"},
    "code": {"class"},
    "ol": {"start"},
}
URL_SCHEMES = {"https", "http", "mailto", "matrix"}
# Push rules match case-insensitively: "@Room" pings as well as "@room". A word joiner after
# the "@" reads the same and matches no rule.
_ROOM_PING = re.compile(r"@(?=room)", re.IGNORECASE)


def sanitise_html(markup: str) -> str:
    """Keep only the tags and links Matrix clients render; everything else is dropped."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener",
    )


def _defuse(text: str) -> str:
    return _ROOM_PING.sub("@\u2060", text)


def _body(message: Message) -> dict[str, Any]:
    text = message.text if message.mentions.room else _defuse(message.text)
    content: dict[str, Any] = {"msgtype": "m.notice", "body": text}
    if message.html is not None:
        markup = sanitise_html(message.html)
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = markup if message.mentions.room else _defuse(markup)
    return content


def _mentions(message: Message) -> dict[str, Any]:
    mentions: dict[str, Any] = {"user_ids": list(message.mentions.users)}
    if message.mentions.room:
        mentions["room"] = True
    return mentions


def _relation(message: Message) -> dict[str, Any] | None:
    reply = message.reply_to
    if reply is None:
        return None
    if reply.thread_root is None:
        return {"m.in_reply_to": {"event_id": reply.event_id}}
    return {
        "rel_type": "m.thread",
        "event_id": reply.thread_root,
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": reply.event_id},
    }


def render(message: Message) -> tuple[str, dict[str, Any]]:
    """The event type and content for ``message``, never larger than ``MAX_CONTENT_BYTES``."""
    body = _fit(_body(message))
    content: dict[str, Any] = dict(body)
    content["m.mentions"] = _mentions(message)
    if message.data is not None:
        content[DATA_KEY] = dict(message.data)
    if message.replaces is not None:
        content = _as_edit(content, body, message.replaces)
    elif (relation := _relation(message)) is not None:
        content["m.relates_to"] = relation
    if DATA_KEY in content and _size(content) > MAX_CONTENT_BYTES:
        log.warning("data payload dropped from an oversized message to %s", message.room_id)
        del content[DATA_KEY]
    return EVENT_TYPE, content


def _as_edit(content: dict[str, Any], body: dict[str, Any], original: str) -> dict[str, Any]:
    """An ``m.replace`` edit: fallback text marked with '*', the new content inside."""
    new_content = dict(body) | {"m.mentions": content["m.mentions"]}
    content["body"] = "* " + body["body"]
    if "formatted_body" in body:
        content["formatted_body"] = "* " + body["formatted_body"]
    content["m.new_content"] = new_content
    content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original}
    return content


def _size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode("utf-8"))


def _fit(content: dict[str, Any]) -> dict[str, Any]:
    """Cut an oversized message: plain text only, shortened, with an ellipsis."""
    if _size(content) <= MAX_CONTENT_BYTES // 2:
        return content
    text = content["body"]
    budget = MAX_CONTENT_BYTES // 4  # leaves room for an edit's copy and the data payload
    while len(text.encode("utf-8")) > budget:
        text = text[: int(len(text) * 0.9)]
    return {"msgtype": "m.notice", "body": text.rstrip() + " […]"}
