"""Feed filters: kinds, categories and title words, read without case or accents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.feeds.filters import FilterRules, Hold, ItemFilter, fold, word_in
from bot.feeds.normalise import ItemKind, NormaliseRules, normalise_entries
from bot.feeds.parse import parse_feed

from .conftest import HUB

ALL = frozenset(ItemKind)


@dataclass(frozen=True)
class Item:
    """What a filter reads of an item."""

    title: str
    kind: str = "event"
    categories: tuple[str, ...] = ()


def held(item: Item, **rules: Any) -> Hold | None:
    """What a filter of every kind with these rules holds ``item`` back with."""
    return ItemFilter(ALL, FilterRules(**rules)).held(item)


def test_folding_ignores_case_accents_and_spacing() -> None:
    """ "Événement  Spécial" and "evenement speciaL" compare equal."""
    assert fold("Événement  Spécial") == fold("evenement speciaL") == "evenement special"


@pytest.mark.parametrize(
    ("word", "title", "found"),
    [
        ("atelier", "Atelier R : les bases", True),
        ("atelier", "Ateliers de printemps", False),
        ("atelier*", "Ateliers de printemps", True),
        ("R", "Atelier R", True),
        ("R", "Rencontre du réseau", False),
        ("séminaire", "SEMINAIRE du mardi", True),
        ("appel à projets", "Nouvel appel a projets 2026", True),
        ("projets", "Nouvel appel a projets 2026", True),
        ("*", "Tout", False),
    ],
)
def test_words_match_whole_words_or_their_beginning_with_a_star(
    word: str, title: str, found: bool
) -> None:
    """A word matches whole words (or phrases) of the title; "atelier*" every word it begins."""
    assert word_in(word, fold(title)) is found


def test_a_kind_the_feed_does_not_announce_is_held_by_the_kind_rule() -> None:
    """An item of a kind outside the filter's kinds is held, the kind named."""
    item_filter = ItemFilter(frozenset({ItemKind.EVENT}))
    assert item_filter.held(Item("Un billet", kind="post")) == Hold("kind", "post")
    assert item_filter.held(Item("Un événement")) is None


def test_categories_required_and_excluded() -> None:
    """Required categories need one match, excluded ones none, accents and case aside."""
    item = Item("Funathon 2026", categories=("Python", "Événement"))
    assert held(item, categories=("python",)) is None
    assert held(item, categories=("R", "Julia")) == Hold("category_missing", "R, Julia")
    assert held(item, without_categories=("evenement",)) == Hold("category_excluded", "evenement")


def test_words_required_and_excluded_in_the_title() -> None:
    """Required words need one in the title, excluded ones none; the first rule that holds wins."""
    item = Item("Webinaire : atelier Quarto")
    assert held(item, words=("quarto",)) is None
    assert held(item, words=("python", "r")) == Hold("word_missing", "python, r")
    assert held(item, without_words=("webinaire",)) == Hold("word_excluded", "webinaire")
    assert held(item, words=("quarto",), without_words=("atelier",)) == Hold(
        "word_excluded", "atelier"
    )


def test_rules_are_stored_and_read_back_and_empty_rules_store_nothing() -> None:
    """Rules survive their JSON form; unknown kinds in stored data are dropped."""
    rules = FilterRules(kinds=(ItemKind.EVENT,), without_words=("webinaire",))
    assert FilterRules.from_data(rules.as_data()) == rules
    assert FilterRules().as_data() is None and FilterRules.from_data(None).empty
    assert FilterRules.from_data({"kinds": ["event", "gone"]}).kinds == (ItemKind.EVENT,)


def test_adding_a_value_twice_keeps_one_and_removing_an_absent_one_says_so() -> None:
    """Values are compared folded: "Python" and "python" are the same category."""
    rules = FilterRules().adding("categories", "Python").adding("categories", "python")
    assert rules.categories == ("Python",)
    assert rules.removing("categories", "PYTHON") == FilterRules()
    assert rules.removing("words", "python") is None


def test_holds_are_stored_as_short_codes() -> None:
    """A hold's code reads back as the same hold; no code, no hold."""
    hold = Hold("category_excluded", "open data")
    assert Hold.parse(hold.code) == hold and Hold.parse(None) is None


def test_the_real_event_feed_keeps_its_categories(fixture_feed: Callable[[str], bytes]) -> None:
    """Quarto's <category> elements reach the items: the hub's events carry "event" and more."""
    parsed = parse_feed(fixture_feed("event"), url=f"{HUB}/event.xml")
    items = normalise_entries(parsed.entries, NormaliseRules())
    assert sum("event" in item.categories for item in items) == 14
    assert any({"funathon", "Python"} & set(item.categories) for item in items)
    funathon = ItemFilter(ALL, FilterRules(without_categories=("Funathon",)))
    assert sum(funathon.held(item) is not None for item in items) == 2
