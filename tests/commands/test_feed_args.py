"""Reading the arguments of !flux and its subcommands: requests, or a usage error naming the
subcommand's own usage."""

from __future__ import annotations

import pytest

from bot.commands.feed_args import (
    FilterRequest,
    RoomRequest,
    TemplateRequest,
    parse_add,
    parse_feeds_args,
    parse_filter,
    parse_ref,
    parse_room,
    parse_template,
)
from bot.errors import UsageError
from bot.feeds.normalise import ItemKind

URL = "https://partenaire.example.org/index.xml"


@pytest.mark.parametrize(
    ("args", "subcommand"),
    [
        ("", "status"),
        ("3", "detail"),
        ("n°3", "detail"),
        ("APERÇU 3", "preview"),
        ("ajouter x", "add"),
        ("add x", "add"),
        ("Retirer 2", "remove"),
        ("reprendre 2", "resume"),
        ("resume 2", "resume"),
        ("salons 2", "room"),
        ("filter 2", "filter"),
        ("modèle 2", "template"),
    ],
)
def test_subcommands_are_read_in_french_or_english_without_accents(
    args: str, subcommand: str
) -> None:
    """Each subcommand has a French and an English word, read without case or accents."""
    assert parse_feeds_args(args).subcommand == subcommand


def test_an_unknown_subcommand_is_a_usage_error() -> None:
    """A word that is no subcommand is refused with the whole command's usage."""
    with pytest.raises(UsageError) as refused:
        parse_feeds_args("voir 2")
    assert (refused.value.key, refused.value.usage) == ("feeds.unknown_subcommand", None)


@pytest.mark.parametrize(
    ("text", "key"),
    [("", "feeds.missing_ref"), ("deux", "feeds.bad_ref"), ("ftp://x", "feeds.bad_ref")],
)
def test_a_feed_is_named_by_its_number_or_its_url(text: str, key: str) -> None:
    """A number or an http(s) URL names a feed; anything else names the subcommand's usage."""
    assert parse_ref("12", "pause") == 12 and parse_ref(f"<{URL}>", "remove") == URL
    with pytest.raises(UsageError) as refused:
        parse_ref(text, "pause")
    assert (refused.value.key, refused.value.usage) == (key, "commands.feeds.pause.usage")


def test_adding_takes_a_url_and_an_optional_name() -> None:
    """The rest of the line after the URL is the feed's name, spaces tidied."""
    assert parse_add(f"{URL}   Le   partenaire ") == (URL, "Le partenaire")
    assert parse_add(URL) == (URL, None)
    with pytest.raises(UsageError):
        parse_add(f"{URL} {'x' * 81}")
    with pytest.raises(UsageError):
        parse_add("partenaire.example.org")


@pytest.mark.parametrize(
    ("rest", "request_"),
    [
        ("2", RoomRequest(2, "list")),
        ("2 #annonces:hub.test", RoomRequest(2, "add", "#annonces:hub.test")),
        ("2 ajouter !abc:hub.test", RoomRequest(2, "add", "!abc:hub.test")),
        ("2 remove #annonces:hub.test", RoomRequest(2, "remove", "#annonces:hub.test")),
        ("2 défaut", RoomRequest(2, "default")),
    ],
)
def test_rooms_are_listed_added_removed_or_reset(rest: str, request_: RoomRequest) -> None:
    """A room alone is added; ajouter/retirer say so; défaut goes back to the hub's rooms."""
    assert parse_room(rest) == request_


@pytest.mark.parametrize("rest", ["2 ajouter", "2 annonces", "2 retirer @orga:hub.test"])
def test_a_room_must_be_an_alias_or_an_id(rest: str) -> None:
    """Anything but #alias:server or !id:server is refused with the room subcommand's usage."""
    with pytest.raises(UsageError) as refused:
        parse_room(rest)
    assert refused.value.usage == "commands.feeds.room.usage"


@pytest.mark.parametrize(
    ("rest", "request_"),
    [
        ("2", FilterRequest(2, "show")),
        ("2 aucun", FilterRequest(2, "clear")),
        (
            "2 type événements, infolettre",
            FilterRequest(2, "kinds", kinds=(ItemKind.EVENT, ItemKind.NEWSLETTER)),
        ),
        ("2 kind all", FilterRequest(2, "kinds", kinds=None)),
        ("2 catégorie « open data »", FilterRequest(2, "add", "categories", "open data")),
        ("2 sauf-categorie Funathon", FilterRequest(2, "add", "without_categories", "Funathon")),
        ("2 mot atelier*", FilterRequest(2, "add", "words", "atelier*")),
        ("2 not-word webinar", FilterRequest(2, "add", "without_words", "webinar")),
        ("2 retirer sauf-mot webinaire", FilterRequest(2, "remove", "without_words", "webinaire")),
    ],
)
def test_filters_are_read(rest: str, request_: FilterRequest) -> None:
    """Kinds replace the feed's own; categories and words are added or removed one by one."""
    assert parse_filter(rest) == request_


@pytest.mark.parametrize(
    ("rest", "key"),
    [
        ("2 couleur bleu", "feeds.unknown_filter"),
        ("2 type", "feeds.missing_kinds"),
        ("2 type podcasts", "feeds.unknown_kind"),
        ("2 mot", "feeds.missing_value"),
    ],
)
def test_bad_filters_are_usage_errors(rest: str, key: str) -> None:
    """A filter, kind or value that cannot be read is refused with the filter usage."""
    with pytest.raises(UsageError) as refused:
        parse_filter(rest)
    assert (refused.value.key, refused.value.usage) == (key, "commands.feeds.filter.usage")


def test_templates_are_shown_reset_or_set() -> None:
    """No kind shows them; a kind alone resets it; a kind and a text sets it."""
    assert parse_template("2") == TemplateRequest(2)
    assert parse_template("2 evenement") == TemplateRequest(2, "event")
    assert parse_template("2 infolettre-sans-numero 📰 {title}") == TemplateRequest(
        2, "newsletter_unnumbered", "📰 {title}"
    )


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("{titre}", "feeds.template.unknown_placeholder"),
        ("{}", "feeds.template.empty_placeholder"),
        ("{title", "feeds.template.malformed"),
        ("{title:>99999999}", "feeds.template.decorated_placeholder"),
        ("{title!r}", "feeds.template.decorated_placeholder"),
        ("@room {title}", "feeds.template.room_mention"),
    ],
)
def test_templates_are_checked_like_the_configured_ones(template: str, key: str) -> None:
    """Only bare named placeholders, and never @room."""
    with pytest.raises(UsageError) as refused:
        parse_template(f"2 billet {template}")
    assert (refused.value.key, refused.value.usage) == (key, "commands.feeds.template.usage")
