"""Rendering a message as Matrix content: notices, safe HTML, explicit mentions, relations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.matrix.render import DATA_KEY, render
from bot.messages import Mentions, Message, ReplyTo

ROOM = "!hub:localhost"
WORD_JOINER = "\u2060"


def content_of(message: Message) -> dict[str, Any]:
    event_type, content = render(message)
    assert event_type == "m.room.message"
    return content


def test_plain_message_is_a_notice_with_its_body() -> None:
    """A text-only message becomes an m.notice carrying the text and no HTML."""
    content = content_of(Message(ROOM, "Nouvelle infolettre"))
    assert content["msgtype"] == "m.notice"
    assert content["body"] == "Nouvelle infolettre"
    assert "formatted_body" not in content and "format" not in content


def test_html_is_sent_as_custom_html_with_allowed_tags_kept() -> None:
    """Tags Matrix clients render (bold, links, lists, code) survive in formatted_body."""
    markup = (
        '<p><b>Agenda</b> : <a href="https://ssphub.netlify.app/evt">réunion</a></p>'
        "<ul><li><code>!aide</code></li></ul>"
    )
    content = content_of(Message(ROOM, "Agenda : réunion", html=markup))
    assert content["format"] == "org.matrix.custom.html"
    html = content["formatted_body"]
    for kept in ("<p>", "<b>Agenda</b>", "<ul><li><code>!aide</code></li></ul>"):
        assert kept in html
    assert 'href="https://ssphub.netlify.app/evt"' in html
    assert content["body"] == "Agenda : réunion"


@pytest.mark.parametrize(
    ("markup", "forbidden"),
    [
        ("<p>hi</p><script>alert('x')</script>", "script"),
        ("<p>hi</p><script>alert('x')</script>", "alert"),
        ('<p onclick="steal()">hi</p>', "onclick"),
        ('<img src="x" onerror="steal()">', "onerror"),
        ('<a href="javascript:steal()">hi</a>', "javascript:"),
        ('<a href="JaVaScRiPt:steal()">hi</a>', "steal"),
        ("<iframe src='https://evil.example'></iframe>", "iframe"),
        ("<style>body{display:none}</style><p>hi</p>", "display:none"),
    ],
)
def test_dangerous_html_is_removed(markup: str, forbidden: str) -> None:
    """Scripts, event-handler attributes, javascript: links and frames never reach the room."""
    content = content_of(Message(ROOM, "hi", html=markup))
    assert forbidden.lower() not in content["formatted_body"].lower()


def test_mentions_are_always_present_and_empty_by_default() -> None:
    """Every message declares its mentions, and by default notifies nobody."""
    content = content_of(Message(ROOM, "Bonjour @alice:localhost"))
    assert content["m.mentions"] == {"user_ids": []}


def test_mentioned_users_are_listed() -> None:
    """Users named in the message's mentions appear in m.mentions.user_ids."""
    message = Message(ROOM, "Bienvenue", mentions=Mentions(users=("@alice:localhost",)))
    assert content_of(message)["m.mentions"] == {"user_ids": ["@alice:localhost"]}


def test_room_ping_in_feed_text_is_defused_in_body_and_html() -> None:
    """An '@room' copied from a feed reads the same but no longer contains '@room'."""
    message = Message(ROOM, "Hello @room, read this", html="<p>Hello @room, read this</p>")
    content = content_of(message)
    assert "@room" not in content["body"]
    assert "@room" not in content["formatted_body"]
    assert content["body"].replace(WORD_JOINER, "") == "Hello @room, read this"
    assert content["formatted_body"].replace(WORD_JOINER, "") == "<p>Hello @room, read this</p>"
    assert "room" not in content["m.mentions"]


@pytest.mark.parametrize("ping", ["@Room", "@ROOM"])
def test_room_ping_in_any_case_is_defused(ping: str) -> None:
    """'@Room' and '@ROOM' are defused too, since push rules ignore case."""
    content = content_of(Message(ROOM, f"Hello {ping}", html=f"<p>Hello {ping}</p>"))
    assert ping.lower() not in content["body"].lower()
    assert ping.lower() not in content["formatted_body"].lower()


def test_room_mention_asked_for_notifies_the_room_and_keeps_the_text() -> None:
    """With Mentions(room=True) the text is untouched and m.mentions.room is true."""
    message = Message(
        ROOM, "@room réunion", html="<p>@room réunion</p>", mentions=Mentions(room=True)
    )
    content = content_of(message)
    assert content["body"] == "@room réunion"
    assert content["formatted_body"] == "<p>@room réunion</p>"
    assert content["m.mentions"]["room"] is True


def test_reply_carries_in_reply_to() -> None:
    """A reply outside a thread points at the event it answers, and only that."""
    content = content_of(Message(ROOM, "pong", reply_to=ReplyTo("$question")))
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$question"}}


def test_reply_in_a_thread_stays_in_the_thread() -> None:
    """A reply to a threaded event is a thread event with the root and the in-reply-to."""
    content = content_of(Message(ROOM, "pong", reply_to=ReplyTo("$question", "$root")))
    relation = content["m.relates_to"]
    assert relation["rel_type"] == "m.thread"
    assert relation["event_id"] == "$root"
    assert relation["m.in_reply_to"] == {"event_id": "$question"}
    assert relation["is_falling_back"] is False


def test_message_without_reply_has_no_relation() -> None:
    """A plain announcement relates to nothing."""
    assert "m.relates_to" not in content_of(Message(ROOM, "annonce"))


def test_edit_carries_new_content_and_replace_relation() -> None:
    """An edit replaces the original event and carries the new text in m.new_content."""
    message = Message(ROOM, "corrigé", html="<p>corrigé</p>", replaces="$original")
    content = content_of(message)
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$original"}
    assert content["body"] == "* corrigé"
    new = content["m.new_content"]
    assert new["msgtype"] == "m.notice"
    assert new["body"] == "corrigé"
    assert new["formatted_body"] == "<p>corrigé</p>"
    assert new["m.mentions"] == {"user_ids": []}
    assert "m.relates_to" not in new


def test_data_payload_sits_under_the_bot_namespace() -> None:
    """Structured data travels under org.ssphub.bot, beside the readable text."""
    message = Message(ROOM, "Événement", data={"kind": "event", "feed": "agenda", "id": 42})
    content = content_of(message)
    assert DATA_KEY == "org.ssphub.bot"
    assert content["org.ssphub.bot"] == {"kind": "event", "feed": "agenda", "id": 42}


def test_no_data_payload_unless_given() -> None:
    """A message without data carries no bot namespace."""
    assert DATA_KEY not in content_of(Message(ROOM, "Bonjour"))


@pytest.mark.parametrize("as_edit", [False, True])
def test_megabyte_text_renders_under_the_event_size_limit(as_edit: bool) -> None:
    """A 1 MB text (with as much HTML) is cut so the content's JSON stays under 64 KiB."""
    text = "Très long paragraphe. " * 50_000
    message = Message(
        ROOM,
        text,
        html=f"<p>{text}</p>",
        reply_to=ReplyTo("$question"),
        replaces="$original" if as_edit else None,
        data={"kind": "event"},
    )
    content = content_of(message)
    size = len(json.dumps(content, ensure_ascii=False).encode("utf-8"))
    assert size < 64 * 1024
    body = content["m.new_content"]["body"] if as_edit else content["body"]
    assert body.startswith("Très long paragraphe.")
    assert body.endswith("[…]")


def test_large_data_payload_still_renders_under_the_event_size_limit() -> None:
    """A message whose data payload is huge still renders to content under 64 KiB."""
    message = Message(ROOM, "Nouvel article", data={"summary": "x" * 100_000})
    content = content_of(message)
    assert len(json.dumps(content, ensure_ascii=False).encode("utf-8")) < 64 * 1024
    assert content["body"] == "Nouvel article"
