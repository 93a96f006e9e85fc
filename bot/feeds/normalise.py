"""Raw feed entries -> FeedItems: stable identity, kind, title, summary, dates, newsletter n°."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.feeds.eventtime import EventTime, event_time
from bot.feeds.parse import RawEntry
from bot.feeds.text import clean_title, collapse, first_paragraph, strip_tags, truncate

IDENTITY_CHARS = 512
MAX_CATEGORIES = 20
CATEGORY_CHARS = 80
UNTITLED = "(sans titre)"
_NEWSLETTER_IN_LINK = re.compile(r"infolettre[_/-](\d{1,4})(?!\d)", re.IGNORECASE)
_NEWSLETTER_IN_TITLE = re.compile(r"(?:\bn[°o]\s?|#)(\d{1,4})\b", re.IGNORECASE)
_INDEX_PAGE = re.compile(r"/index\.html?$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ItemKind(StrEnum):
    """What a feed item is, told by its link's path."""

    NEWSLETTER = "newsletter"
    EVENT = "event"
    POST = "post"
    PROJECT = "project"
    OTHER = "other"


@dataclass(frozen=True)
class KindRule:
    """Items whose link path contains ``path_contains`` are of ``kind``."""

    path_contains: str
    kind: ItemKind


HUB_KIND_RULES = (
    KindRule("/infolettre/", ItemKind.NEWSLETTER),
    KindRule("/event/", ItemKind.EVENT),
    KindRule("/talk/", ItemKind.EVENT),
    KindRule("/blog/", ItemKind.POST),
    KindRule("/post/", ItemKind.POST),
    KindRule("/project/", ItemKind.PROJECT),
)
HUB_PATH_ALIASES = (("/talk/", "/event/"), ("/post/", "/blog/"))


@dataclass(frozen=True)
class NormaliseRules:
    """How a feed's entries become items; the first base URL is the canonical one.

    ``default_kind`` is the kind of items no rule matches (a feed of events can say EVENT for its
    items that link to the site root). ``path_aliases`` map old path prefixes to new ones so an
    item keeps its identity across the site's renames.
    """

    base_urls: tuple[str, ...] = ("https://ssphub.netlify.app",)
    kind_rules: tuple[KindRule, ...] = HUB_KIND_RULES
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    summary_chars: int = 300
    path_aliases: tuple[tuple[str, str], ...] = HUB_PATH_ALIASES
    default_kind: ItemKind = ItemKind.OTHER


@dataclass(frozen=True)
class FeedItem:
    """A feed entry as the bot understands it; ``fingerprint`` changes when the item is edited."""

    identity: str
    kind: ItemKind
    title: str
    link: str | None
    summary: str
    published: datetime | None
    newsletter_number: int | None
    event: EventTime | None
    guid: str | None
    fingerprint: str
    categories: tuple[str, ...] = ()  # the feed's <category> elements, as filters read them


def normalise_entries(entries: Sequence[RawEntry], rules: NormaliseRules) -> list[FeedItem]:
    """Normalise one fetched batch; links shared within the batch do not identify items."""
    keys = [_url_key(entry, rules) for entry in entries]
    counts = Counter(key for key in keys if key is not None)
    shared = {key for key, count in counts.items() if count > 1}
    return [
        _item(entry, None if key in shared else key, rules)
        for entry, key in zip(entries, keys, strict=True)
    ]


def canonical_url(url: str, rules: NormaliseRules) -> str:
    """``url`` in one spelling: https, lower-case host, canonical base URL, renamed paths
    mapped, no default port, fragment, ``index.html`` or trailing slash (the root keeps "/")."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url.strip()
    host, path = _rebase(_host(parts), parts.path, rules)
    path = _alias(_INDEX_PAGE.sub("/", path), rules.path_aliases)
    return urlunsplit(("https", host, path.rstrip("/") or "/", parts.query, ""))


def newsletter_number(link: str | None, title: str) -> int | None:
    """The newsletter's number from its link ("infolettre_26") or else its title ("n°9")."""
    match = _NEWSLETTER_IN_LINK.search(link or "") or _NEWSLETTER_IN_TITLE.search(title)
    return int(match.group(1)) if match else None


def kind_of(link: str | None, rules: NormaliseRules) -> ItemKind:
    """The kind of the first rule whose text the link's path contains."""
    path = urlsplit(link or "").path.lower()
    for rule in rules.kind_rules:
        if rule.path_contains.lower() in path:
            return rule.kind
    return rules.default_kind


def _item(entry: RawEntry, key: str | None, rules: NormaliseRules) -> FeedItem:
    """One item; ``key`` is its canonical URL, or None when that cannot identify it."""
    link = _absolute(entry.link, rules)
    kind = kind_of(link or entry.guid, rules)
    title = clean_title(entry.title) or _fallback_title(link)
    event = None
    if kind is ItemKind.EVENT:
        event = event_time(entry.published, entry.description_html, title, rules.tz)
    return FeedItem(
        identity=key if key is not None else _hash_identity(title, entry.published),
        kind=kind,
        title=title,
        link=link,
        summary=truncate(first_paragraph(entry.description_html), rules.summary_chars),
        published=entry.published,
        newsletter_number=newsletter_number(link, title) if kind is ItemKind.NEWSLETTER else None,
        event=event,
        guid=entry.guid,
        fingerprint=_fingerprint(title, entry.published, event),
        categories=clean_categories(entry.categories),
    )


def clean_categories(raw: Sequence[str]) -> tuple[str, ...]:
    """The entry's categories as plain text on one line each, without repeats, bounded."""
    cleaned = (truncate(collapse(strip_tags(category)), CATEGORY_CHARS) for category in raw)
    unique = dict.fromkeys(category for category in cleaned if category)
    return tuple(unique)[:MAX_CATEGORIES]


def _url_key(entry: RawEntry, rules: NormaliseRules) -> str | None:
    """The entry's canonical guid, else link; None when both are missing or the site root."""
    for raw in (entry.guid, entry.link):
        key = _candidate_key(raw, rules)
        if key is not None:
            return key if len(key) <= IDENTITY_CHARS else _sha256(key)
    return None


def _candidate_key(raw: str | None, rules: NormaliseRules) -> str | None:
    """A canonical guid or link, or None when it is empty or points at a site's root."""
    if not raw or not raw.strip():
        return None
    raw = raw.strip()
    if raw.startswith("/"):  # a site-relative link; other scheme-less guids stay opaque
        raw = _absolute(raw, rules) or raw
    key = canonical_url(raw, rules)
    parts = urlsplit(key)
    return None if parts.scheme == "https" and parts.path in ("", "/") else key


def _hash_identity(title: str, published: datetime | None) -> str:
    """Identity of an item without a link of its own: its title and publication day."""
    day = published.date().isoformat() if published else ""
    return _sha256(f"{collapse(title).casefold()}\n{day}")


def _fingerprint(title: str, published: datetime | None, event: EventTime | None) -> str:
    """What an edit changes: title, publication time, event start and end."""
    parts = [title, _iso(published), _iso(event.start if event else None)]
    parts.append(_iso(event.end if event else None))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _rebase(host: str, path: str, rules: NormaliseRules) -> tuple[str, str]:
    """Rewrite any configured base URL (or a Netlify deploy of one) to the canonical base."""
    bases = [urlsplit(base.strip()) for base in rules.base_urls]
    if not bases:
        return host, path or "/"
    canonical = bases[0]
    for base in bases:
        prefix = base.path.rstrip("/")
        if _same_site(host, _host(base)) and (path + "/").startswith(prefix + "/"):
            return _host(canonical), canonical.path.rstrip("/") + (path[len(prefix) :] or "/")
    return host, path or "/"


def _same_site(host: str, base_host: str) -> bool:
    """True for the base host itself or a Netlify deploy of it ("deploy-preview-12--site")."""
    if host == base_host:
        return True
    return base_host.endswith(".netlify.app") and host.endswith("--" + base_host)


def _alias(path: str, aliases: tuple[tuple[str, str], ...]) -> str:
    """Map a renamed path prefix ("/talk/") to its current name ("/event/")."""
    for old, new in aliases:
        if (path + "/").startswith(old):
            return new + path[len(old) :]
    return path


def _host(parts: SplitResult) -> str:
    """Lower-case host, with its port unless it is the scheme's default."""
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port in (None, _DEFAULT_PORTS.get(parts.scheme.lower())) else f"{host}:{port}"


def _absolute(link: str | None, rules: NormaliseRules) -> str | None:
    """A link made absolute against the canonical base URL when the feed gave a relative one."""
    if not link or not link.strip():
        return None
    link = link.strip()
    if urlsplit(link).scheme or not rules.base_urls:
        return link
    return urljoin(rules.base_urls[0].rstrip("/") + "/", link)


def _fallback_title(link: str | None) -> str:
    """A title for an untitled item: its link's last path segment, humanised."""
    segment = urlsplit(link or "").path.rstrip("/").rsplit("/", 1)[-1]
    words = collapse(re.sub(r"\.html?$|[-_]+", " ", segment))
    return words[:1].upper() + words[1:] if words else UNTITLED


def _sha256(text: str) -> str:
    """A "sha256:" identity of ``text``."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _iso(moment: datetime | None) -> str:
    """ISO text of a moment, empty when there is none."""
    return moment.isoformat() if moment else ""
