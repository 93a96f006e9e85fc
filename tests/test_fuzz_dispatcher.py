"""Property-based fuzzing of the whole dispatcher: the real commands, a real SQLite database.

Whatever a member or an organiser types — prefixes, command words with arbitrary arguments,
reply fallbacks, ``@room``, unicode, newlines, huge texts — in the room or in a direct
conversation, handling it raises nothing and queues at most one short notice per room, neither a
traceback nor an internal error, pinging nobody.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz_rig import FRAGMENTS, FUZZ, HUB, MEMBER, ORGANISER, Bench, bench, check_answers

__all__ = ["bench"]


def commands(words: list[str]) -> st.SearchStrategy[str]:
    """A prefix (mostly the right one), a command word in any case, a separator, arguments."""
    prefix = st.sampled_from(["!", "!", "!", "!", "! ", "!!", "?", ""])
    word = st.one_of(
        st.sampled_from(words), st.sampled_from(words).map(str.upper), st.text(max_size=8)
    )
    separator = st.sampled_from([" ", " ", "\n", "  ", "\t", "\u00a0", ""])
    argument = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12))
    arguments = st.lists(argument, max_size=8).map(" ".join)
    huge = st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["a", "é ", "demain 9h ", "| ", "🎉", "9h ", "@room ", "\n"]),
        st.integers(300, 20_000),
    )
    return st.builds(
        lambda p, w, s, a: f"{p}{w}{s}{a}", prefix, word, separator, st.one_of(arguments, huge)
    )


def bodies(words: list[str]) -> st.SearchStrategy[str]:
    """Commands, commands under a reply fallback, and any text at all."""
    command = commands(words)
    quoted = st.lists(st.text(max_size=30).map(lambda q: "> " + q.replace("\n", " ")), max_size=3)
    reply = st.builds(lambda q, c: "\n".join(["> <@x:hub.test> !ping", *q, "", c]), quoted, command)
    return st.one_of(command, command, command, reply, st.text())


@settings(FUZZ, max_examples=1000)
@given(data=st.data(), organiser=st.booleans(), direct=st.booleans())
def test_any_message_gets_at_most_one_short_answer(
    bench: Bench, data: st.DataObject, organiser: bool, direct: bool
) -> None:
    """Members and organisers alike, in the room or in a direct conversation: no exception,
    no internal error, at most one short answer."""
    body = data.draw(bodies(bench.words), label="body")
    sender = ORGANISER if organiser else MEMBER
    check_answers(body, bench.handle(body, sender, direct), sender, direct)


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_organiser_commands_with_arguments_never_fail_inside(
    bench: Bench, data: st.DataObject
) -> None:
    """An organiser's well-formed command words with arbitrary arguments never end in an
    internal error, and always get an answer in the room."""
    word = data.draw(st.sampled_from(bench.words), label="word")
    arguments = data.draw(st.lists(st.sampled_from(FRAGMENTS), max_size=10).map(" ".join))
    body = f"!{word} {arguments}"
    answers = bench.handle(body, ORGANISER)
    check_answers(body, answers, ORGANISER)
    assert any(room == HUB for room, _ in answers)
