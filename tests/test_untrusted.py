"""Text from outside is cleaned where it enters: controls, bidi and invisible characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.invocation import Invocation, parse_invocation
from bot.matrix.incoming import may_command
from bot.untrusted import BIDI_CONTROLS, clean_text, without_zero_width


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Infolettre n°26", "Infolettre n°26"),
        ("a\x00b\x1b[31mc\x7fd\x9be", "ab[31mcde"),
        ("ligne 1\r\nligne 2\rligne 3\x85ligne 4", "ligne 1\nligne 2\nligne 3\nligne 4"),
        ("col\tonne\x0bet\x0cpage", "col onne et page"),
        ("point \u202ebudget\u202c et \u2067isolé\u2069 \u200fx", "point budget et isolé x"),
        ("émoji 👩\u200d💻 gardé", "émoji 👩\u200d💻 gardé"),
        ("surrogate \ud800 seul", "surrogate  seul"),
    ],
)
def test_controls_and_bidi_are_removed_line_breaks_kept(raw: str, clean: str) -> None:
    """C0 and C1 controls and bidi controls go, line breaks become \\n, tabs spaces; letters,
    emoji and their zero-width joiners stay."""
    assert clean_text(raw) == clean


@given(st.text())
def test_cleaned_text_has_no_control_or_bidi_character_left(raw: str) -> None:
    """Whatever comes in, what comes out holds no control except \\n and no bidi control."""
    out = clean_text(raw)
    assert all(ch == "\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in out)
    assert not set(out) & set(BIDI_CONTROLS) and clean_text(out) == out
    out.encode("utf-8")  # no lone surrogate left either


def test_invisible_characters_leave_command_words_only() -> None:
    """A zero-width character inside or before a command word is dropped: the word read is the
    word seen; in the arguments, it stays for the handler."""
    assert parse_invocation("\u200b!ai\u200bde\u2060 ping\u200b", "!") == Invocation(
        "aide", "ping\u200b"
    )
    assert parse_invocation("!\u200b\u200d", "!") is None
    assert without_zero_width("fl\u00adux\ufeff") == "flux"


@pytest.mark.parametrize(
    ("content", "command"),
    [
        ({"msgtype": "m.text", "body": "!ping"}, True),
        ({"body": "!ping", "m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}}, True),
        ({"body": "!ping", "m.relates_to": {"rel_type": "m.thread", "event_id": "$a"}}, True),
        ({"body": "!rappel", "m.new_content": {"body": "!rappel"},
          "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}, False),
        ({"body": "!rappel", "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}, False),
        ({"body": "!rappel", "m.new_content": {"body": "!rappel"}}, False),
        ({"body": "!ping", "m.relates_to": {"rel_type": "m.reference", "event_id": "$a"}}, False),
        ({"body": "!ping", "m.relates_to": {"rel_type": "org.example", "event_id": "$a"}}, False),
        ({"body": "!ping", "m.relates_to": "nonsense"}, False),
    ],
)  # fmt: skip
def test_edits_and_other_relations_are_never_commands(
    content: dict[str, object], command: bool
) -> None:
    """Plain messages, replies and thread messages may be commands; an edit (whatever its
    fallback text) or any other relation never is."""
    assert may_command({"content": content}) is command
