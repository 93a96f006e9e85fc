"""Text from outside (members' messages, display names, feeds) made safe to keep and to show,
once, where it enters the bot.

Control characters go (C0 and C1, DEL; line breaks become ``\\n``, tabs and other spacing
controls a space): a NUL would fail every write to PostgreSQL, an ESC would drive a terminal.
Bidirectional controls go too: an unclosed U+202E in a member's text would reverse the rest of
the bot's line that quotes it. Zero-width characters stay in ordinary text (emoji sequences and
some scripts need them) but never in a command word, where they would hide a different word.
"""

from __future__ import annotations

import re

# Bidi_Control: the Arabic letter mark, LRM and RLM, embeddings and overrides, isolates.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Invisible characters that change no rendering of a plain word.
ZERO_WIDTH = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"

_SPACING = {ord(ch): " " for ch in "\t\v\f"}
_LINE_BREAKS = re.compile(r"\r\n?|\x85")  # CR LF, lone CR and NEL are all line breaks
_DROPPED = re.compile(f"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff{BIDI_CONTROLS}]")
_ZERO_WIDTH = re.compile(f"[{ZERO_WIDTH}]")


def clean_text(text: str) -> str:
    """``text`` without control, bidi or surrogate characters; line breaks kept as ``\\n``."""
    if text.isprintable():  # the common case: nothing to remove
        return text
    text = _LINE_BREAKS.sub("\n", text).translate(_SPACING)
    return _DROPPED.sub("", text)


def clean_optional(text: str | None) -> str | None:
    """``clean_text`` for a value that may be missing."""
    return None if text is None else clean_text(text)


def without_zero_width(text: str) -> str:
    """``text`` without zero-width and other invisible characters (for command words)."""
    return _ZERO_WIDTH.sub("", text)
