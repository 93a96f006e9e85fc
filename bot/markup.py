"""Plain text to HTML: every way the bot marks its messages up, each escaping first.

The Matrix layer sanitises whatever HTML a message carries before it is sent; what is built
here is already safe, so that pass only ever removes what a template could not foresee.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

_URL = re.compile(r"https?://\S+")


def lines(text: str) -> str:
    """Escaped text, its line breaks kept."""
    return escape(text).replace("\n", "<br>")


def headlined(text: str) -> str:
    """Escaped lines, links made clickable, the first line in bold."""
    first, *rest = text.split("\n")
    return "<br>".join([f"<strong>{linked(first)}</strong>", *map(linked, rest)])


def linked(line: str) -> str:
    """One escaped line whose http(s) URLs are anchors."""
    parts, last = [], 0
    for match in _URL.finditer(line):
        parts += [escape(line[last : match.start()]), anchor(match.group(0))]
        last = match.end()
    return "".join([*parts, escape(line[last:])])


def anchor(url: str, label: str | None = None) -> str:
    """A link to ``url``, showing ``label`` (the URL itself by default)."""
    return f'<a href="{escape(url, quote=True)}">{escape(url if label is None else label)}</a>'


def paragraphs(texts: Sequence[str], link: str = "") -> str:
    """One paragraph per line, the first in bold, the line that is ``link`` clickable."""
    parts = [f"<p><strong>{escape(texts[0])}</strong></p>"]
    for text in texts[1:]:
        parts.append(f"<p>{anchor(link) if link and text == link else escape(text)}</p>")
    return "".join(parts)


def listing(header: str, items: Sequence[tuple[str, str]], footer: str) -> str:
    """A header, a list of ``code — text`` items, a footer."""
    rows = "".join(f"<li><code>{escape(code)}</code> — {escape(text)}</li>" for code, text in items)
    return f"<p>{escape(header)}</p><ul>{rows}</ul><p>{escape(footer)}</p>"
