"""The arguments of ``!flux`` and its subcommands, read into requests (pure: each mistake is a
``UsageError`` naming the subcommand's usage). Words are read without case or accents."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config.fields import template_problem
from bot.errors import UsageError
from bot.feeds.filters import MAX_VALUE_CHARS, MAX_VALUES, clean_value, fold
from bot.feeds.normalise import ItemKind
from bot.services.rooms import is_room

Ref = int | str  # a feed's number, or its URL
NAME_CHARS = 80
SUBCOMMANDS = ("preview", "add", "remove", "pause", "resume", "room", "filter", "template")
_SUBCOMMAND_WORDS = {
    "apercu": "preview", "preview": "preview", "ajouter": "add", "add": "add",
    "retirer": "remove", "remove": "remove", "pause": "pause", "reprendre": "resume",
    "resume": "resume", "salon": "room", "salons": "room", "room": "room", "rooms": "room",
    "filtre": "filter", "filtres": "filter", "filter": "filter", "filters": "filter",
    "modele": "template", "modeles": "template", "template": "template", "templates": "template",
}  # fmt: skip
_KIND_WORDS = {
    "infolettre": ItemKind.NEWSLETTER, "newsletter": ItemKind.NEWSLETTER,
    "evenement": ItemKind.EVENT, "event": ItemKind.EVENT, "billet": ItemKind.POST,
    "post": ItemKind.POST, "projet": ItemKind.PROJECT, "project": ItemKind.PROJECT,
    "autre": ItemKind.OTHER, "other": ItemKind.OTHER,
}  # fmt: skip
_ALL = frozenset({"tous", "tout", "all"})
_NONE = frozenset({"aucun", "aucuns", "none", "effacer", "clear"})
_DEFAULT = frozenset({"defaut", "default"})
_ADD = frozenset({"ajouter", "add"})
_REMOVE = frozenset({"retirer", "remove", "enlever"})
_FILTER_LISTS = {
    "categorie": "categories", "category": "categories",
    "sauf-categorie": "without_categories", "sans-categorie": "without_categories",
    "not-category": "without_categories", "without-category": "without_categories",
    "mot": "words", "word": "words",
    "sauf-mot": "without_words", "sans-mot": "without_words", "not-word": "without_words",
    "without-word": "without_words",
}  # fmt: skip
_KIND_FILTER = frozenset({"type", "types", "kind", "kinds"})
_TEMPLATE_KINDS = {
    "infolettre": "newsletter", "newsletter": "newsletter",
    "infolettre-sans-numero": "newsletter_unnumbered",
    "newsletter-unnumbered": "newsletter_unnumbered", "evenement": "event", "event": "event",
    "billet": "post", "post": "post", "projet": "project", "project": "project",
    "autre": "other", "other": "other",
}  # fmt: skip


def usage(subcommand: str) -> str:
    """The catalogue key of a subcommand's usage."""
    return f"commands.feeds.{subcommand}.usage"


@dataclass(frozen=True)
class FeedsRequest:
    """What ``!flux`` was asked: ``status`` of every feed, ``detail`` of one, or a subcommand,
    with the rest of the line."""

    subcommand: str
    rest: str = ""
    ref: Ref | None = None


@dataclass(frozen=True)
class RoomRequest:
    """``!flux salon``: list the feed's rooms, add or remove one, or go back to the hub's."""

    ref: Ref
    action: str  # list · add · remove · default
    room: str | None = None


@dataclass(frozen=True)
class FilterRequest:
    """``!flux filtre``: show, clear, set the kinds, or add or remove a category or word."""

    ref: Ref
    action: str  # show · clear · kinds · add · remove
    field: str | None = None  # categories · without_categories · words · without_words
    value: str | None = None
    kinds: tuple[ItemKind, ...] | None = None  # for "kinds": None means the feed's own


@dataclass(frozen=True)
class TemplateRequest:
    """``!flux modele``: show the feed's templates, reset one kind's, or set it."""

    ref: Ref
    kind: str | None = None
    template: str | None = None


def split_word(text: str) -> tuple[str, str]:
    """The first word and the rest, both stripped."""
    word, *rest = text.split(maxsplit=1) or [""]
    return word, rest[0].strip() if rest else ""


def parse_feeds_args(args: str) -> FeedsRequest:
    """Nothing: every feed; a number: that feed; else a subcommand and its arguments."""
    word, rest = split_word(args)
    if not word:
        return FeedsRequest("status")
    if _number(word) is not None and not rest:
        return FeedsRequest("detail", ref=_number(word))
    subcommand = _SUBCOMMAND_WORDS.get(fold(word))
    if subcommand is None:
        raise UsageError("feeds.unknown_subcommand", word=word)
    return FeedsRequest(subcommand, rest)


def parse_url(text: str, subcommand: str = "preview") -> str:
    """An http(s) URL with a host, alone; else UsageError ("http://" alone is no address)."""
    url = text.strip().strip("<>")
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[" and such
        raise UsageError("feeds.bad_url", usage=usage(subcommand)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UsageError("feeds.bad_url", usage=usage(subcommand))
    return url


def parse_ref(text: str, subcommand: str) -> Ref:
    """A feed's number or URL, alone."""
    text = text.strip()
    if not text:
        raise UsageError("feeds.missing_ref", usage=usage(subcommand))
    number = _number(text)
    if number is not None:
        return number
    if text.strip("<>").lower().startswith(("http://", "https://")):
        return parse_url(text, subcommand)
    raise UsageError("feeds.bad_ref", ref=text, usage=usage(subcommand))


def _number(word: str) -> int | None:
    digits = word.removeprefix("n°").removeprefix("#")
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else None


def parse_add(rest: str) -> tuple[str, str | None]:
    """``<url> [name]``: the URL, and the name given to the feed if any."""
    word, name = split_word(rest)
    if not word:
        raise UsageError("feeds.bad_url", usage=usage("add"))
    url = parse_url(word, "add")
    name = " ".join(name.split())
    if len(name) > NAME_CHARS:
        raise UsageError("feeds.name_too_long", limit=NAME_CHARS, usage=usage("add"))
    return url, name or None


def parse_room(rest: str) -> RoomRequest:
    """``<n>``, ``<n> [ajouter|retirer] <room>`` or ``<n> defaut``."""
    word, rest = split_word(rest)
    ref = parse_ref(word, "room")
    verb, room = split_word(rest)
    folded = fold(verb)
    if not verb:
        return RoomRequest(ref, "list")
    if folded in _DEFAULT and not room:
        return RoomRequest(ref, "default")
    action = "remove" if folded in _REMOVE else "add"
    if folded not in _ADD | _REMOVE:
        room = rest
    if not room:
        raise UsageError("feeds.rooms.missing", usage=usage("room"))
    if not is_room(room):
        raise UsageError("rooms.bad", room=room, usage=usage("room"))
    return RoomRequest(ref, action, room)


def parse_filter(rest: str) -> FilterRequest:
    """``<n>``, ``<n> aucun``, ``<n> type <kinds…>|tous``, ``<n> categorie|sauf-categorie|mot|
    sauf-mot <value>`` or ``<n> retirer <categorie|…> <value>``."""
    word, rest = split_word(rest)
    ref = parse_ref(word, "filter")
    what, value = split_word(rest)
    folded = fold(what)
    if not what:
        return FilterRequest(ref, "show")
    if folded in _NONE and not value:
        return FilterRequest(ref, "clear")
    if folded in _KIND_FILTER:
        return FilterRequest(ref, "kinds", kinds=_kinds(value))
    action = "add"
    if folded in _REMOVE:
        action, (what, value) = "remove", split_word(value)
    field = _FILTER_LISTS.get(fold(what))
    if field is None:
        raise UsageError("feeds.unknown_filter", word=what, usage=usage("filter"))
    return FilterRequest(ref, action, field, _filter_value(value))


def _kinds(text: str) -> tuple[ItemKind, ...] | None:
    """Kinds named by their words, or None for all of the feed's own."""
    words = [fold(word) for word in text.replace(",", " ").split()]
    if not words:
        raise UsageError("feeds.missing_kinds", usage=usage("filter"))
    if set(words) <= _ALL:
        return None
    unknown = [word for word in words if word.rstrip("s") not in _KIND_WORDS]
    if unknown:
        raise UsageError("feeds.unknown_kind", word=unknown[0], usage=usage("filter"))
    return tuple(dict.fromkeys(_KIND_WORDS[word.rstrip("s")] for word in words))


def _filter_value(text: str) -> str:
    value = clean_value(text.strip("«»\"' "))
    if not value or len(text) > 2 * MAX_VALUE_CHARS:
        raise UsageError("feeds.missing_value", chars=MAX_VALUE_CHARS, usage=usage("filter"))
    return value


def parse_template(rest: str) -> TemplateRequest:
    """``<n>``, ``<n> <kind>`` (back to the default) or ``<n> <kind> <template>``."""
    word, rest = split_word(rest)
    ref = parse_ref(word, "template")
    kind_word, template = split_word(rest)
    if not kind_word:
        return TemplateRequest(ref)
    kind = _TEMPLATE_KINDS.get(fold(kind_word))
    if kind is None:
        raise UsageError("feeds.unknown_template_kind", word=kind_word, usage=usage("template"))
    template = " ".join(template.split())
    if template:
        _check_template(template)
    return TemplateRequest(ref, kind, template or None)


def _check_template(template: str) -> None:
    problem = template_problem(template)
    if problem is not None:
        reason, detail = problem
        raise UsageError(f"feeds.template.{reason}", detail=detail, usage=usage("template"))


def too_many(values: tuple[str, ...]) -> bool:
    """Whether a filter's list is full."""
    return len(values) >= MAX_VALUES
