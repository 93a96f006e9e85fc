"""Which items of a feed get announced: kinds, categories, and words in the title (pure).

Organisers set ``FilterRules`` per feed; the planner applies them through ``ItemFilter`` and
stores, with each item it holds, the ``Hold`` saying which rule held it. Categories and words
are compared without case or accents ("Événement" is "evenement"); a word matches whole words
of the title, or every word it begins when it ends with ``*`` ("atelier*" finds "Ateliers").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.feeds.normalise import ItemKind

MAX_VALUES = 20  # per list: a filter is a handful of words, not a dictionary
MAX_VALUE_CHARS = 80
WILDCARD = "*"


def fold(text: str) -> str:
    """``text`` as filters compare it: no accents, no case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


class Filterable(Protocol):
    """What a filter reads of an item (a new ``FeedItem`` or a stored record)."""

    @property
    def kind(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def categories(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Hold:
    """Why a filter held an item: the rule, and the value that decided (or the values that
    were required and missing)."""

    rule: str  # kind · category_missing · category_excluded · word_missing · word_excluded
    value: str = ""

    @property
    def code(self) -> str:
        """The hold as stored with the item."""
        return f"{self.rule}:{self.value}"[:255]

    @classmethod
    def parse(cls, code: str | None) -> Hold | None:
        """A stored hold back; None for items stored before holds were recorded."""
        if not code:
            return None
        rule, _, value = code.partition(":")
        return cls(rule, value)


@dataclass(frozen=True)
class FilterRules:
    """What organisers set on one feed; empty lists filter nothing, ``kinds`` None keeps the
    feed's own announced kinds."""

    kinds: tuple[ItemKind, ...] | None = None
    categories: tuple[str, ...] = ()  # at least one of them
    without_categories: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # at least one of them in the title
    without_words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == FilterRules()

    def as_data(self) -> dict[str, list[str]] | None:
        """The rules as stored (JSON); None when there are none."""
        if self.empty:
            return None
        data = {name: list(getattr(self, name)) for name in _LISTS if getattr(self, name)}
        if self.kinds is not None:
            data["kinds"] = [str(kind) for kind in self.kinds]
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> FilterRules:
        """Rules from what was stored; values that no longer make sense are dropped."""
        if not data:
            return cls()
        lists = {name: tuple(str(v) for v in data.get(name) or ()) for name in _LISTS}
        kinds = data.get("kinds")
        known = tuple(ItemKind(kind) for kind in kinds or () if kind in _KINDS)
        return cls(kinds=known if kinds is not None else None, **lists)

    def adding(self, name: str, value: str) -> FilterRules:
        """These rules with ``value`` added to the list ``name`` (a value given twice once)."""
        current: tuple[str, ...] = getattr(self, name)
        if any(fold(value) == fold(known) for known in current):
            return self
        values: dict[str, Any] = {name: (*current, value)}
        return replace(self, **values)

    def removing(self, name: str, value: str) -> FilterRules | None:
        """These rules without ``value`` in the list ``name``; None when it was not there."""
        current: tuple[str, ...] = getattr(self, name)
        kept = tuple(known for known in current if fold(known) != fold(value))
        values: dict[str, Any] = {name: kept}
        return None if len(kept) == len(current) else replace(self, **values)


_LISTS = ("categories", "without_categories", "words", "without_words")
_KINDS = frozenset(kind.value for kind in ItemKind)


@dataclass(frozen=True)
class ItemFilter:
    """A feed's filter as the planner applies it: the kinds it announces, and its rules."""

    kinds: frozenset[ItemKind] = frozenset({ItemKind.NEWSLETTER, ItemKind.EVENT})
    rules: FilterRules = field(default_factory=FilterRules)

    @classmethod
    def of(cls, default_kinds: Iterable[ItemKind], rules: FilterRules) -> ItemFilter:
        """The filter of a feed announcing ``default_kinds`` unless ``rules`` name others."""
        kinds = rules.kinds if rules.kinds is not None else tuple(default_kinds)
        return cls(frozenset(kinds), rules)

    def held(self, item: Filterable) -> Hold | None:
        """The first rule that holds ``item`` back, or None when it may be announced."""
        if item.kind not in self.kinds:
            return Hold("kind", str(item.kind))
        rules = self.rules
        return _categories_hold(item.categories, rules) or _words_hold(item.title, rules)


def _categories_hold(categories: tuple[str, ...], rules: FilterRules) -> Hold | None:
    folded = {fold(category) for category in categories}
    if rules.categories and not folded & {fold(wanted) for wanted in rules.categories}:
        return Hold("category_missing", ", ".join(rules.categories))
    for unwanted in rules.without_categories:
        if fold(unwanted) in folded:
            return Hold("category_excluded", unwanted)
    return None


def _words_hold(title: str, rules: FilterRules) -> Hold | None:
    folded = fold(title)
    if rules.words and not any(word_in(word, folded) for word in rules.words):
        return Hold("word_missing", ", ".join(rules.words))
    for unwanted in rules.without_words:
        if word_in(unwanted, folded):
            return Hold("word_excluded", unwanted)
    return None


def word_in(word: str, folded_title: str) -> bool:
    """Whether ``word`` (or phrase; ``word*`` for any word it begins) is in the folded title."""
    wanted = fold(word)
    prefix = wanted.endswith(WILDCARD)
    wanted = wanted.rstrip(WILDCARD).strip()
    if not wanted:
        return False
    ending = "" if prefix else r"(?!\w)"
    return re.search(rf"(?<!\w){re.escape(wanted)}{ending}", folded_title) is not None


def clean_value(text: str) -> str:
    """A category or word as stored: single spaces, at most ``MAX_VALUE_CHARS`` characters."""
    return " ".join(text.split())[:MAX_VALUE_CHARS]
