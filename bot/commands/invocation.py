"""A message read as a command: the prefix, the word typed and the rest (pure parsing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.untrusted import ZERO_WIDTH, without_zero_width

# Commands are short: longer arguments are refused before any parsing (which they would slow
# down), and what the bot quotes back of a member's text is cut, so every answer stays short.
MAX_ARGUMENT_CHARS = 400
ECHO_CHARS = 80
_WORD_AND_REST = re.compile(r"(\S+)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Invocation:
    """A message read as a command: the word typed and the rest."""

    word: str
    args: str


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted lines a reply carries before the member's own text.

    The fallback quotes the original line by line, split at line feeds only: a quoted line may
    hold other line separators (U+2028, form feed...) that must not end the quote."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shortened(params: dict[str, Any]) -> dict[str, Any]:
    """An error's parameters with the member's long texts cut before they are quoted back."""
    return {key: shorten(v) if isinstance(v, str) else v for key, v in params.items()}


def parse_invocation(body: str, prefix: str) -> Invocation | None:
    """``!word rest`` -> Invocation("word", "rest"); None when the text is not a command.

    Any white space ends the word (a tab, or a no-break space pasted from a document);
    invisible characters before the prefix or inside the word are dropped, so the word read
    is the word seen."""
    text = strip_reply_fallback(body).lstrip(ZERO_WIDTH)
    if not text.startswith(prefix):
        return None
    found = _WORD_AND_REST.match(text, len(prefix))
    word = without_zero_width(found[1]) if found else ""
    if found is None or not word or not word[0].isalpha():
        return None
    return Invocation(word.lower(), found[2].strip())
