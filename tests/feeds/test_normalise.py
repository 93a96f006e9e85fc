"""Normalising entries: identity, kind, newsletter number, title and summary of hub items."""

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.feeds.normalise import (
    FeedItem,
    ItemKind,
    NormaliseRules,
    canonical_url,
    normalise_entries,
)
from bot.feeds.parse import RawEntry, parse_feed

from .conftest import HUB

RULES = NormaliseRules()
DAY = datetime(2026, 3, 18, tzinfo=UTC)


def entry(**fields: object) -> RawEntry:
    """A raw entry with plausible defaults, overridden by ``fields``."""
    defaults: dict[str, object] = {
        "guid": None,
        "link": f"{HUB}/blog/un-billet/",
        "title": "Un billet",
        "description_html": "<p>Un résumé.</p>",
        "published": DAY,
        "categories": (),
    }
    return RawEntry(**{**defaults, **fields})  # type: ignore[arg-type]


def items_of(fixture_feed: Callable[[str], bytes], name: str) -> list[FeedItem]:
    """The normalised items of one bundled feed."""
    return normalise_entries(parse_feed(fixture_feed(name), url=f"{HUB}/{name}.xml").entries, RULES)


def test_home_feed_kinds_come_from_link_paths(fixture_feed: Callable[[str], bytes]) -> None:
    """The home feed's 20 items are 8 newsletters, 5 events, 3 posts and 4 projects."""
    kinds = Counter(item.kind for item in items_of(fixture_feed, "index"))
    assert kinds == {
        ItemKind.NEWSLETTER: 8,
        ItemKind.EVENT: 5,
        ItemKind.POST: 3,
        ItemKind.PROJECT: 4,
    }


def test_newsletter_numbers_run_from_26_to_8(fixture_feed: Callable[[str], bytes]) -> None:
    """Newsletters 26 back to 8 are numbered from their links; the archive page has no number."""
    numbers = [item.newsletter_number for item in items_of(fixture_feed, "infolettre")]
    assert numbers == [*range(26, 7, -1), None]


def test_newsletter_number_falls_back_to_the_title() -> None:
    """A newsletter whose link has no number takes it from "n°NN" or "#NN" in its title."""
    raws = [
        entry(link=f"{HUB}/infolettre/ete/", title="Infolettre n° 27 : l'été"),
        entry(link=f"{HUB}/infolettre/hiver/", title="Infolettre #28"),
        entry(link=f"{HUB}/infolettre/infolettre-29/", title="Sans numéro"),
    ]
    assert [item.newsletter_number for item in normalise_entries(raws, RULES)] == [27, 28, 29]


def test_only_newsletters_get_a_number(fixture_feed: Callable[[str], bytes]) -> None:
    """The blog post titled "Infolettre n°9" is a post and carries no newsletter number."""
    recap = next(item for item in items_of(fixture_feed, "blog") if "n°9" in item.title)
    assert (recap.kind, recap.newsletter_number) == (ItemKind.POST, None)


@pytest.mark.parametrize(
    "spelling",
    [
        f"{HUB}/event/2026-06-jdos/",
        "http://ssphub.netlify.app/event/2026-06-jdos/",
        "HTTPS://SSPHub.Netlify.APP:443/event/2026-06-jdos",
        f"{HUB}/event/2026-06-jdos/index.html",
        f"{HUB}/event/2026-06-jdos/#programme",
        "https://deploy-preview-12--ssphub.netlify.app/event/2026-06-jdos/",
        f"{HUB}/talk/2026-06-jdos/",
        "https://hub.example.fr/event/2026-06-jdos/",
    ],
)
def test_identity_is_stable_across_spellings(spelling: str) -> None:
    """Scheme, host case, port, slash, index.html, fragment, base URL and /talk/ do not matter."""
    rules = NormaliseRules(base_urls=(HUB, "https://hub.example.fr"))
    [item] = normalise_entries([entry(guid=spelling, link=spelling)], rules)
    assert item.identity == f"{HUB}/event/2026-06-jdos"


def test_post_rename_maps_to_blog() -> None:
    """An old /post/ link and its /blog/ successor canonicalise to the same URL."""
    assert canonical_url(f"{HUB}/post/polars/", RULES) == canonical_url(f"{HUB}/blog/polars", RULES)


def test_foreign_links_keep_their_host_and_port() -> None:
    """A link outside the hub is only tidied: its host and non-default port stay."""
    assert canonical_url("HTTP://Example.org:8080/a/b/", RULES) == "https://example.org:8080/a/b"


def test_root_link_in_event_feed_falls_back_to_a_hash(fixture_feed: Callable[[str], bytes]) -> None:
    """The event feed's item linking to the site root gets a title+date hash identity."""
    items = items_of(fixture_feed, "event")
    seminar = next(item for item in items if item.title.startswith("Séminaire"))
    assert seminar.identity.startswith("sha256:") and seminar.link == f"{HUB}/"
    assert len({item.identity for item in items}) == len(items)


def test_shared_root_links_get_distinct_hash_identities() -> None:
    """Several "other events" linking to the site root get one identity each."""
    raws = [entry(guid=f"{HUB}/", link=f"{HUB}/", title=f"Séminaire {n}") for n in range(3)]
    identities = [item.identity for item in normalise_entries(raws, RULES)]
    assert all(identity.startswith("sha256:") for identity in identities)
    assert len(set(identities)) == 3


def test_link_shared_within_a_batch_is_not_an_identity() -> None:
    """Two entries of one batch sharing a non-root link are told apart by title and date."""
    link = f"{HUB}/event/agenda/"
    raws = [entry(link=link, title="Atelier A"), entry(link=link, title="Atelier B")]
    identities = [item.identity for item in normalise_entries(raws, RULES)]
    assert identities[0] != identities[1] and all(i.startswith("sha256:") for i in identities)


def test_hash_identity_ignores_title_case_and_spacing() -> None:
    """A root-linked item keeps its identity when its title's case or spacing is retouched."""
    first = normalise_entries([entry(link=f"{HUB}/", title="Séminaire  des données")], RULES)
    again = normalise_entries([entry(link=f"{HUB}", title="séminaire des Données")], RULES)
    assert first[0].identity == again[0].identity


def test_missing_guid_title_and_date_do_not_crash() -> None:
    """An entry with only a link gets a humanised title, no date and its link as identity."""
    [item] = normalise_entries([entry(link=f"{HUB}/blog/mon_billet-2/", title=None,
                                      published=None, description_html="")], RULES)  # fmt: skip
    assert (item.identity, item.title, item.published) == (
        f"{HUB}/blog/mon_billet-2", "Mon billet 2", None)  # fmt: skip
    assert item.summary == ""


def test_entry_without_link_or_title_is_untitled() -> None:
    """An entry with neither link nor title is "(sans titre)" with a hash identity."""
    [item] = normalise_entries([entry(link=None, title="   ", published=None)], RULES)
    assert (item.title, item.link, item.kind) == ("(sans titre)", None, ItemKind.OTHER)
    assert item.identity.startswith("sha256:") and len(item.identity) <= 512


def test_hostile_title_loses_its_tags_but_keeps_its_text() -> None:
    """Tags and script content leave the title; "@room" stays as text (mentions are made safe
    when sending)."""
    title = '<b>Alerte</b> <script>alert("x")</script> &lt;img src=x onerror=1&gt; @room  !'
    [item] = normalise_entries([entry(title=title)], RULES)
    assert item.title == "Alerte @room !"


def test_long_title_is_capped() -> None:
    """A title is cut at 300 characters at most, on a word boundary."""
    [item] = normalise_entries([entry(title="mot " * 200)], RULES)
    assert len(item.title) <= 300 and item.title.endswith("mot…")


def test_summaries_are_short_plain_text(fixture_feed: Callable[[str], bytes]) -> None:
    """Every summary of the real feeds is plain text of at most 300 characters."""
    for name in ("infolettre", "event", "index", "blog"):
        for item in items_of(fixture_feed, name):
            assert len(item.summary) <= 300
            assert "<" not in item.summary and "&amp;" not in item.summary


def test_summary_is_the_first_paragraph_with_words() -> None:
    """The summary skips an image-only paragraph and stops at the first paragraph's end."""
    html = '<p><img src="a.png"></p><p>Premier <em>vrai</em> paragraphe.</p><p>Second.</p>'
    [item] = normalise_entries([entry(description_html=html)], RULES)
    assert item.summary == "Premier vrai paragraphe."


def test_long_summary_is_cut_at_a_word_boundary() -> None:
    """A long paragraph is cut near 300 characters on a word boundary, ending with "…"."""
    [item] = normalise_entries([entry(description_html="<p>" + "données " * 80 + "</p>")], RULES)
    assert len(item.summary) <= 300 and item.summary.endswith("données…")


def test_whole_page_description_with_scripts_is_fast() -> None:
    """A 250 KB page with script blocks gives its first paragraph, without script text,
    quickly."""
    script = "<script>var x = '<p>pas ça</p>'; " + "x += 1; " * 4000 + "</script>"
    page = f"<html><head>{script}</head><body><p>Le vrai début.</p>{'<div>blabla</div>' * 14000}"
    assert len(page) > 250_000
    started = time.perf_counter()
    [item] = normalise_entries([entry(link=f"{HUB}/event/x/", description_html=page)], RULES)
    assert time.perf_counter() - started < 0.5
    assert item.summary == "Le vrai début."


def test_root_linked_event_can_default_to_event_kind(fixture_feed: Callable[[str], bytes]) -> None:
    """With default_kind EVENT (for the event feed), the root-linked seminar is an event."""
    feed = parse_feed(fixture_feed("event"), url=f"{HUB}/event.xml")
    items = normalise_entries(feed.entries, NormaliseRules(default_kind=ItemKind.EVENT))
    assert {item.kind for item in items} == {ItemKind.EVENT}
    assert all(item.event is not None for item in items)


def test_fingerprint_changes_when_an_item_is_edited() -> None:
    """Same identity, new date or title: the fingerprint changes; nothing edited: it does not."""
    link = f"{HUB}/event/2026-03-dares/"
    base = normalise_entries([entry(link=link, guid=link)], RULES)[0]
    same = normalise_entries([entry(link=link, guid=link, description_html="<p>x</p>")], RULES)[0]
    moved = normalise_entries([entry(link=link, guid=link, published=DAY.replace(day=19))], RULES)
    renamed = normalise_entries([entry(link=link, guid=link, title="Nouveau titre")], RULES)
    assert base.fingerprint == same.fingerprint
    assert base.identity == moved[0].identity == renamed[0].identity
    assert len({base.fingerprint, moved[0].fingerprint, renamed[0].fingerprint}) == 3
