"""Plain text out of feed HTML: tag-free titles, first-paragraph summaries, bounded work."""

from __future__ import annotations

import html
import re

import nh3

# Production descriptions are whole rendered pages (up to 250 KB): only a prefix is looked at.
HTML_PREFIX_CHARS = 64 * 1024
# The first paragraph is looked for in this many characters first (scripts stripped from them
# alone): most of a page's cost is past it. A paragraph ending within the margin of the window's
# end may be cut short there, and sends the search to the whole prefix.
FIRST_WINDOW_CHARS = 4 * 1024
_WINDOW_MARGIN = 64
TITLE_CHARS = 300
ELLIPSIS = "…"

_SCRIPT_BLOCK = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_BLOCK_TAG = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|blockquote|figure)|br)\b[^>]*>",
    re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)(?:</p\s*>|(?=<p\b)|\Z)", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")
_REAL_TEXT = re.compile(r"[^\W\d_]{2,}")


def collapse(text: str) -> str:
    """Collapse every run of whitespace (non-breaking spaces included) to one space."""
    return _SPACES.sub(" ", text).strip()


def strip_tags(fragment: str) -> str:
    """Remove tags (script and style with their content) and decode entities, to plain text."""
    text = fragment
    if "<" not in text and "&" not in text:
        return text
    for _ in range(3):  # entity-escaped markup ("&lt;b&gt;") becomes a tag once decoded
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    return text


def clean_title(raw: str | None) -> str:
    """A title as plain text on one line, capped at ``TITLE_CHARS``; empty when there is none."""
    if not raw:
        return ""
    return truncate(collapse(strip_tags(raw)), TITLE_CHARS)


def html_to_text(fragment: str, limit: int = HTML_PREFIX_CHARS) -> str:
    """Plain text of the first ``limit`` characters of an HTML fragment, blocks spaced apart."""
    prefix = _SCRIPT_BLOCK.sub(" ", fragment[:limit])
    return collapse(strip_tags(_BLOCK_TAG.sub(" ", prefix)))


def first_paragraph(
    fragment: str, limit: int = HTML_PREFIX_CHARS, window: int = FIRST_WINDOW_CHARS
) -> str:
    """Plain text of the first ``<p>`` holding real words, else of the whole bounded fragment.

    The first ``window`` characters are read first: the summary is nearly always there, and a
    paragraph found whole in them is the one the whole prefix gives."""
    if window < min(len(fragment), limit):
        found = _first_real_paragraph(_SCRIPT_BLOCK.sub(" ", fragment[:window]), whole=True)
        if found is not None:
            return found
    prefix = _SCRIPT_BLOCK.sub(" ", fragment[:limit])
    found = _first_real_paragraph(prefix, whole=False)
    return found if found is not None else html_to_text(prefix, limit)


def _first_real_paragraph(text: str, *, whole: bool) -> str | None:
    """The first paragraph of ``text`` holding real words; with ``whole``, only one that ends
    clearly before the end of ``text`` (which may cut a paragraph, a tag or a script short)."""
    for match in _PARAGRAPH.finditer(text):
        if whole and match.end() > len(text) - _WINDOW_MARGIN:
            return None
        found = collapse(strip_tags(_BLOCK_TAG.sub(" ", match.group(1))))
        if _REAL_TEXT.search(found):
            return found
    return None


def truncate(text: str, chars: int) -> str:
    """Cut ``text`` to at most ``chars`` characters, at a word boundary, ending with "…"."""
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    space = cut.rfind(" ")
    if space >= chars * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS
