"""Property-based fuzzing of the commands along their own grammar, each slot good, bad or odd."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz_rig import FRAGMENTS, FUZZ, HUB, MEMBER, ORGANISER, Bench, bench, check_answers

__all__ = ["bench"]

WHEN = st.sampled_from([
    "demain 9h", "demain", "jeudi 14h30", "le 3 décembre à 10h", "le 31 février",
    "2026-12-03 10:00", "dans 2 heures", "dans 0 minute", "lundi prochain à 14h30",
    "ce soir 18h", "midi", "hier 9h",
    "chaque lundi 9h", "tous les jours à 8h", "le premier mardi du mois à 14h", "25h", "9h61",
    "tomorrow 9am", "in 2 hours", "", "🎉",
])  # fmt: skip
TEXT = st.one_of(st.sampled_from(FRAGMENTS), st.text(min_size=1, max_size=40))
NUMBER = st.one_of(st.integers(0, 30).map(str), st.sampled_from(["n°2", "#3", "x", "-1", "1e9"]))
FIELD = st.sampled_from(["heure", "fin", "lieu", "titre", "lien", "début", "end", "couleur"])
LINK = st.sampled_from(["https://ssphub.netlify.app/event/x/", "http://a.b", "ftp://x", "lien"])
ROOM = st.sampled_from(["#salon:hub.test", "#inconnu:hub.test", HUB, "salon", "!x:y"])


def grammar_commands() -> st.SearchStrategy[str]:
    """The commands' own grammar, each slot filled with good, bad and odd values."""
    parts = st.lists(st.one_of(TEXT, LINK), max_size=3).map(
        lambda xs: "".join(f" | {x}" for x in xs)
    )
    flags = st.lists(st.one_of(st.just("--tous"), ROOM.map(lambda r: f"--salon {r}")), max_size=2)
    return st.one_of(
        st.builds(lambda w, t, p: f"!evenement ajouter {w} {t}{p}", WHEN, TEXT, parts),
        st.builds(
            lambda n, f, v: f"!evenement modifier {n} {f} {v}",
            NUMBER,
            FIELD,
            st.one_of(WHEN, TEXT, LINK),
        ),
        st.builds(lambda n: f"!evenement supprimer {n}", NUMBER),
        st.builds(lambda n: f"!evenement {n}", NUMBER),
        st.builds(lambda f, w, t: f"!rappel {' '.join(f)} {w} {t}", flags, WHEN, TEXT),
        st.builds(
            lambda i: f"!rappel annuler {i}", st.sampled_from(["r7k2", "x", "", "rzzzzzzzzz"])
        ),
        st.builds(
            lambda r: f"!agenda {r}",
            st.one_of(NUMBER, st.sampled_from(["semaine", "mois", "week"])),
        ),
        st.builds(lambda u: f"!flux apercu {u}", st.one_of(LINK, TEXT)),
        st.builds(lambda u: f"!pourquoi {u}", st.one_of(LINK, TEXT)),
    )


@settings(FUZZ, max_examples=600)
@given(body=grammar_commands(), organiser=st.booleans())
def test_commands_shaped_by_their_grammar_never_fail_inside(
    bench: Bench, body: str, organiser: bool
) -> None:
    """Commands written the way their usage says, with good and bad values in every slot,
    always get one short answer and never an internal error."""
    sender = ORGANISER if organiser else MEMBER
    answers = bench.handle(body, sender)
    check_answers(body, answers, sender)
    assert len(answers) == 1
