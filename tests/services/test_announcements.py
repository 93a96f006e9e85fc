"""Announcements: templates checked at load, dates in French words, safe and bounded messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import AnnouncementsConfig, TemplatesConfig, parse_config
from bot.errors import ConfigError
from bot.feeds.eventtime import EventTime
from bot.i18n import catalogue
from bot.matrix.render import render
from bot.services.announcements import Announcer, Dates
from bot.storage.feeds import ItemRecord

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
BASE = """\
matrix: {homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}
rooms: ["!hub:localhost"]
"""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def record(kind: str = "newsletter", **fields: object) -> ItemRecord:
    """A stored item with plausible values, overridden by ``fields``."""
    values: dict[str, object] = {
        "id": 7, "feed_id": 1, "identity": "https://ssphub.netlify.app/infolettre/infolettre_26",
        "kind": kind, "title": "Le prix de statistiques indépendantes",
        "link": "https://ssphub.netlify.app/infolettre/infolettre_26/",
        "summary": "Un résumé court.", "published": at(2026, 3, 2), "newsletter_number": 26,
        "fingerprint": "f", "status": "announced", "first_seen_at": T0, "first_seen_poll": 2,
        "event": None,
    }  # fmt: skip
    return ItemRecord(**(values | fields))  # type: ignore[arg-type]


def announcer(**templates: str) -> Announcer:
    config = AnnouncementsConfig(templates=TemplatesConfig(**templates))
    return Announcer(config, catalogue("fr"), PARIS)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (EventTime(at(2024, 2, 29, 14), at(2024, 2, 29, 15), False, True, None),
         "jeudi 29 février 2024, 15 h – 16 h (heure de Paris)"),
        (EventTime(at(2025, 4, 16, 13), at(2025, 4, 16, 14, 30), False, True, None),
         "mercredi 16 avril 2025, 15 h – 16 h 30 (heure de Paris)"),
        (EventTime(at(2026, 1, 13, 9, 30), None, False, True, None),
         "mardi 13 janvier 2026, 10 h 30 (heure de Paris)"),
        (EventTime(at(2026, 5, 31, 22), None, False, False, None),
         "lundi 1er juin 2026, horaire à préciser"),
        (EventTime(at(2026, 6, 15, 22), at(2026, 6, 17, 22), True, False, None),
         "du mardi 16 au mercredi 17 juin 2026"),
        (EventTime(at(2026, 5, 31, 22), at(2026, 6, 2, 22), True, False, None),
         "du lundi 1er au mardi 2 juin 2026"),
        (EventTime(at(2026, 3, 30, 22), at(2026, 4, 1, 22), True, False, None),
         "du mardi 31 mars au mercredi 1er avril 2026"),
        (EventTime(at(2026, 12, 29, 23), at(2027, 1, 2, 23), True, False, None),
         "du mercredi 30 décembre 2026 au samedi 2 janvier 2027"),
    ],
)  # fmt: skip
def test_event_times_read_in_french_paris_time(event: EventTime, words: str) -> None:
    """Times, unknown times and multi-day spans are written as a French reader expects."""
    assert Dates(catalogue("fr"), PARIS).when(event) == words


def test_event_times_in_english() -> None:
    """The English catalogue writes the same moment its own way."""
    event = EventTime(at(2024, 2, 29, 14), at(2024, 2, 29, 15), False, True, None)
    assert Dates(catalogue("en"), PARIS).when(event) == (
        "Thursday 29 February 2024, 15:00–16:00 (Paris time)"
    )


def test_newsletter_announcement_reads_headline_summary_link() -> None:
    """The default newsletter message: number and title, then the summary, then the link."""
    message = announcer().announcement(record(), "!hub:localhost", feed="Infolettre")
    assert message.text.splitlines() == [
        "📰 Nouvelle infolettre n°26 — Le prix de statistiques indépendantes",
        "Un résumé court.",
        "https://ssphub.netlify.app/infolettre/infolettre_26/",
    ]
    assert message.mentions.users == () and not message.mentions.room
    assert message.data == {
        "feed_item": {
            "id": 7, "kind": "newsletter", "title": "Le prix de statistiques indépendantes",
            "link": "https://ssphub.netlify.app/infolettre/infolettre_26/",
            "published": "2026-03-02T00:00:00+00:00", "number": 26, "event": None,
        }
    }  # fmt: skip


def test_a_newsletter_without_number_and_a_configured_template() -> None:
    """Without a number the unnumbered wording is used; a configured template wins."""
    plain = announcer().announcement(record(newsletter_number=None), "!r", feed="F")
    assert plain.text.startswith("📰 Nouvelle infolettre — Le prix")
    custom = announcer(newsletter="{feed} n°{number} : {title}").announcement(
        record(), "!r", feed="F"
    )
    assert custom.text.startswith("F n°26 : Le prix")


def test_markup_in_items_is_escaped_in_html() -> None:
    """Titles and summaries are text: their angle brackets are escaped, links made safe."""
    hostile = record(
        title="<b>gras</b> & <i>co</i>", summary="<script>x</script>", link="javascript:alert(1)"
    )
    message = announcer().announcement(hostile, "!r", feed="F")
    assert message.html is not None
    assert "<b>" not in message.html and "&lt;b&gt;gras&lt;/b&gt; &amp;" in message.html
    assert "<script>" not in message.html and "javascript:" not in message.text + message.html


def test_no_announcement_event_is_ever_over_64_kb() -> None:
    """Even a huge title, summary and link give a rendered event well under 64 KB."""
    huge = record(title="T" * 200_000, summary="S" * 500_000, link="https://x.org/" + "l" * 100_000)
    _, content = render(announcer().announcement(huge, "!r", feed="F"))
    assert len(json.dumps(content, ensure_ascii=False).encode()) < 64 * 1024


def test_flood_notice_names_the_feed_and_the_newest() -> None:
    """The organisers' notice says how many items looked new and which one was announced."""
    notice = announcer().flood_notice("!orga", feed="Événements", new=20, total=20, newest="JDOS")
    assert notice.text.startswith("⚠️ Flux « Événements » : 20 éléments sur 20")
    assert notice.text.endswith("Seul le plus récent est annoncé : « JDOS ».")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{numero} {title}", "unknown placeholder {numero}"),
        ("{title.upper}", "unknown placeholder {title.upper}"),
        ("{title", "malformed template"),
        ("{} {title}", "empty placeholder {}"),
        ("{title:>99999999}", "placeholder {title} with a format or conversion"),
        ("{title!r}", "placeholder {title} with a format or conversion"),
        ("@Room {title}", "@room in a template"),
    ],
)
def test_templates_with_unknown_placeholders_are_config_problems(
    template: str, problem: str
) -> None:
    """A template naming a value the bot does not have, dressing a placeholder with a format
    (which could make a message of any size), or notifying the room is refused at load."""
    text = BASE + f"announcements:\n  templates:\n    event: {json.dumps(template)}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="bot.yaml", environ={})
    (reported,) = caught.value.problems
    assert reported.startswith("bot.yaml: announcements.templates.event: " + problem)


def test_a_feeds_own_template_comes_before_the_configured_one() -> None:
    """With a template of the feed's own for the kind, the configured one is not used."""
    item = record(kind="post", title="Un billet")
    configured = announcer(post="Billet : {title}")
    own = configured.announcement(item, "!r", feed="Blog", templates={"post": "{feed} · {title}"})
    assert own.text.splitlines()[0] == "Blog · Un billet"
    assert configured.announcement(item, "!r", feed="Blog").text.startswith("Billet : Un billet")


def test_default_templates_only_use_known_placeholders() -> None:
    """The catalogue's default templates, in both languages, pass the same check."""
    for language in ("fr", "en"):
        t = catalogue(language)
        for kind in ("newsletter", "newsletter_unnumbered", "event", "post", "project", "other"):
            TemplatesConfig(**{kind: t._messages[f"announce.{kind}"]})
