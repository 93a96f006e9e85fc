"""Summaries out of feed HTML: reading the page's first characters first changes no summary."""

from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.text import HTML_PREFIX_CHARS, first_paragraph

PIECES = [
    "<p>Un vrai paragraphe.</p>",
    "<p>Un autre, <em>mis en forme</em> et <a href='x'>lié</a>.</p>",
    "<p><img src='a.png'></p>",
    "<p>12 34</p>",
    "<p>ouvert sans fin ",
    "<script>var s = '<p>pas un paragraphe</p>';</script>",
    "<STYLE>p { color: red }</STYLE>",
    "<script>non fermé <p>toujours du script</p>",
    "<pre>du code</pre>",
    "<div><ul><li>un point</li></ul></div>",
    "du texte nu ",
    "&lt;p&gt;échappé&lt;/p&gt;",
    " " * 40,
]


@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=30),
    window=st.integers(min_value=1, max_value=600),
)
def test_the_first_characters_give_the_summary_of_the_whole_page(
    pieces: list[str], window: int
) -> None:
    """Whatever the window's size and wherever it cuts a tag, a script or a paragraph, the
    summary is the one read from the whole prefix at once."""
    html = "".join(pieces)
    assert first_paragraph(html, window=window) == first_paragraph(html, window=HTML_PREFIX_CHARS)


def test_a_paragraph_past_the_window_is_found_in_the_whole_prefix() -> None:
    """A page whose first paragraph with words lies past the window still gives it."""
    html = "<script>" + "x" * 5000 + "</script><p>Enfin des mots.</p>"
    assert first_paragraph(html, window=100) == "Enfin des mots."
