"""Tests of bot.markup: plain text marked up as HTML, escaped first."""

from __future__ import annotations

from bot.markup import headlined


def test_html_makes_links_clickable_and_escapes_the_rest() -> None:
    """The first line is bold, text is escaped, links become anchors."""
    markup = headlined("Titre <b>\n• R & Python — https://x.fr/a?b=1&c=2")
    assert markup == (
        "<strong>Titre &lt;b&gt;</strong><br>• R &amp; Python — "
        '<a href="https://x.fr/a?b=1&amp;c=2">https://x.fr/a?b=1&amp;c=2</a>'
    )
