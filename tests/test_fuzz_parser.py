"""Property-based fuzzing of the command parser: any text, never an exception, a sane reading."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.invocation import parse_invocation, strip_reply_fallback

PREFIXES = st.sampled_from(["!", "?", "!!", "ssp:"])
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", "\u2028", "\r\n", " \n "])
LETTERS = st.characters(categories=["Ll", "Lu", "Lo"])
WORDS = st.builds(
    "".join,
    st.tuples(LETTERS, st.text(st.characters(categories=["L", "Nd"]), max_size=12)),
)
QUOTED = st.lists(st.text(max_size=40).map(lambda line: "> " + line.replace("\n", " ")), max_size=3)


@settings(max_examples=4000, deadline=None)
@given(body=st.text(), prefix=PREFIXES)
def test_any_text_reads_as_a_command_or_not_at_all(body: str, prefix: str) -> None:
    """Arbitrary text never raises; a reading always has a lower-case word that starts with a
    letter, holds no space, and arguments without surrounding spaces."""
    found = parse_invocation(body, prefix)
    if found is None:
        return
    assert found.word and found.word[0].isalpha()
    assert found.word == found.word.strip().lower()
    assert not any(char.isspace() for char in found.word)
    assert found.args == found.args.strip()


@settings(max_examples=2000, deadline=None)
@given(prefix=PREFIXES, word=WORDS, separator=SEPARATORS, args=st.text(max_size=200))
def test_a_prefixed_word_is_read_back_with_its_arguments(
    prefix: str, word: str, separator: str, args: str
) -> None:
    """``<prefix><word><any white space><args>`` is the command ``word`` whatever follows it,
    and every non-space character of the arguments is kept."""
    found = parse_invocation(f"{prefix}{word}{separator}{args}", prefix)
    assert found is not None
    assert found.word == word.lower()
    assert "".join(found.args.split()) == "".join(args.split())


@settings(max_examples=1500, deadline=None)
@given(quoted=QUOTED, prefix=PREFIXES, word=WORDS, args=st.text(max_size=50))
def test_a_reply_fallback_is_skipped_before_the_command(
    quoted: list[str], prefix: str, word: str, args: str
) -> None:
    """Quoted reply lines before the member's own text never hide the command nor become it."""
    body = (
        "\n".join([*quoted, "", f"{prefix}{word} {args}"]) if quoted else f"{prefix}{word} {args}"
    )
    found = parse_invocation(body, prefix)
    assert found is not None and found.word == word.lower()
    assert not strip_reply_fallback(body).startswith(">")


@settings(max_examples=1000, deadline=None)
@given(quoted=QUOTED.filter(bool), prefix=PREFIXES, word=WORDS)
def test_a_command_only_quoted_is_not_run(quoted: list[str], prefix: str, word: str) -> None:
    """A command that appears only inside the quoted part of a reply is not a command."""
    body = "\n".join([*quoted, f"> {prefix}{word}", "", "merci !"])
    assert parse_invocation(body, prefix) is None


@settings(max_examples=200, deadline=None)
@given(
    prefix=PREFIXES,
    word=WORDS,
    filler=st.sampled_from(["a", "é", "🎉", "\n", " ", ">"]),
    size=st.integers(10_000, 200_000),
)
def test_huge_bodies_are_read_quickly(prefix: str, word: str, filler: str, size: int) -> None:
    """Bodies of up to 200,000 characters are read without error (the parser is linear)."""
    found = parse_invocation(f"{prefix}{word} " + filler * size, prefix)
    assert found is not None and found.word == word.lower()
